// Files replaced all-or-nothing: the rules a target path must meet, and a text writer
// that follows them (AtomicFileWriter and write_xdmf apply the same rules).
//
// An all-or-nothing write creates a temporary file beside the target and renames it over
// the target. rename() replaces whatever has the target's name, so the target is checked
// first; it must satisfy all of:
//   - its folder exists, is a folder, and this process may create files in it;
//   - its file name has at most 255 bytes (the Linux file name limit);
//   - nothing is at the path yet, or a regular file is.
// A directory, FIFO, socket, character or block device is refused. A symbolic link is
// refused as well, even one that points to a regular file: the rename would replace the
// link itself by a regular file rather than write through it. To replace the file a link
// points to, pass that file's path.
//
// Thread safety: the functions may run concurrently on different paths.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace deepnum::io {

// Throws InvalidArgumentError when two of the named paths are the same file (compared
// after resolving ".", "..", and symbolic links as far as they exist), naming both
// options: a program whose output would overwrite its own input or another output is
// stopped before it starts. Each entry is (option name, path); empty paths are skipped.
void require_distinct_files(const std::vector<std::pair<std::string, std::string>>& named_paths);

// Throws unless an all-or-nothing write may create or replace `path` (rules above).
// `kind` names the file in messages ("HDF5 file", "XDMF file", "records file"). Throws
// InvalidArgumentError when the path names no file ("", "folder/"), FileNotFoundError when
// its folder does not exist, and HdfError (an IoError) naming the path and what is there
// otherwise: "it is a directory", "it is not a regular file (a FIFO)", "it is a symbolic
// link", a folder that is not writable, a name that is too long.
void require_replaceable_file(const std::string& path, const std::string& kind = "file");

// Writes `text` to `path` all-or-nothing: require_replaceable_file, a temporary file
// ".<name>.tmp.<pid>.<random>" beside the target, fsync, rename. On failure the temporary
// is removed, the target keeps its previous contents and HdfError names the path.
void write_text_atomically(const std::string& path,
                           const std::string& text,
                           const std::string& kind = "file");

}  // namespace deepnum::io
