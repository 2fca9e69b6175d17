// HDF5 files: a read handle (File) and an all-or-nothing writer (AtomicFileWriter).
//
// Object paths are '/'-separated names inside the file; a leading '/' is optional,
// repeated separators are ignored and "/" is the root group. Writing through any
// function of this layer creates missing intermediate groups.
//
// Thread safety: Debian's HDF5 is built without its thread-safe option, so every
// function of deepnum::io holds one process-wide lock while it calls HDF5. Using the
// layer from several threads is therefore safe but serialized; calling HDF5 directly
// through File::id() from another thread at the same time is not.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

namespace deepnum::io {

// An open HDF5 file. Owns its hid_t (closed in the destructor, which never throws);
// movable, not copyable. Closing is "strong": objects still open through id() are
// closed with the file.
class File {
 public:
  // Opens an existing file read-only. Throws FileNotFoundError when the path does not
  // exist, CorruptFileError when it is not a readable HDF5 file (wrong format,
  // truncated), HdfError otherwise (permissions, a folder, a FIFO or other file that is
  // not a regular one; symbolic links are followed).
  static File open_read(const std::string& path);

  // Opens an existing file for in-place modification. Not atomic: a crash mid-write
  // may leave the file damaged. Prefer AtomicFileWriter with WriteMode::kUpdate.
  static File open_read_write(const std::string& path);

  File() = default;  // not open; id() is H5I_INVALID_HID
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  // The path of the file on disk (for an AtomicFileWriter's file: the temporary file).
  const std::string& path() const { return path_; }
  // The HDF5 file identifier, valid while this object lives and is open.
  hid_t id() const { return id_; }
  bool is_open() const { return id_ >= 0; }
  bool is_writable() const { return writable_; }

  // True when an object (group, dataset, named type) exists at object_path.
  bool exists(const std::string& object_path) const;
  bool is_group(const std::string& object_path) const;
  bool is_dataset(const std::string& object_path) const;
  // Names (not paths) of the members of a group, sorted by name. Throws
  // ObjectNotFoundError when group_path is missing or not a group.
  std::vector<std::string> list(const std::string& group_path = "/") const;

  // Creates group_path and every missing group above it (no-op for existing groups).
  void create_groups(const std::string& group_path);
  // Flushes buffered data of a writable file to the operating system.
  void flush();
  // Closes now and reports failure by throwing HdfError (the destructor cannot).
  void close();

 private:
  friend class AtomicFileWriter;
  File(hid_t id, std::string path, bool writable);
  void require_open(const char* operation) const;
  void close_quietly() noexcept;

  hid_t id_ = H5I_INVALID_HID;
  std::string path_;
  bool writable_ = false;
};

// What an AtomicFileWriter starts from.
enum class WriteMode {
  kReplace,  // an empty file: the target's old contents are replaced on commit
  kUpdate,   // a copy of the target (empty when it does not exist): appending is atomic
};

// Writes a file all-or-nothing. The data goes to a temporary file in the target's
// folder, named ".<name>.tmp.<pid>.<random>" (<name> shortened when the whole name would
// exceed 255 bytes); commit() flushes and closes it, fsyncs it
// and renames it over the target (an atomic replacement on POSIX file systems), then
// fsyncs the folder. Until commit() the target is untouched: if the writer is destroyed
// uncommitted (an exception) the temporary file is removed; if the process is killed,
// the target keeps its previous bytes and a stale ".<name>.tmp.*" file may remain.
// Movable, not copyable. Not meant for two writers of one target at once: the last
// commit wins.
//
// The target must be replaceable (deepnum/io/output_file.hpp): its folder exists and is
// writable, and the path holds nothing or a regular file. A directory, FIFO, socket,
// device or symbolic link at the path is refused, a link even when it points to a
// regular file (the rename would replace the link, not write through it): pass the path
// of the file itself. The constructor checks this before creating anything and commit()
// checks it again just before the rename.
class AtomicFileWriter {
 public:
  // Creates the temporary file. Throws InvalidArgumentError when target_path names no
  // file, FileNotFoundError when its folder does not exist, HdfError naming the path and
  // what is there when the target is not replaceable ("it is a directory", "it is not a
  // regular file (a FIFO)", "it is a symbolic link", a folder that is not writable); in
  // kUpdate mode also the errors of File::open_read for an unreadable target.
  explicit AtomicFileWriter(std::string target_path, WriteMode mode = WriteMode::kReplace);
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  // The writable file (the temporary). Throws HdfError after commit().
  File& file();
  const std::string& target_path() const { return target_path_; }
  const std::string& temporary_path() const { return temporary_path_; }
  bool committed() const { return committed_; }

  // Publishes the written contents under target_path. Throws HdfError on failure (also
  // when the target stopped being replaceable since the constructor), in which case the
  // target keeps its previous contents, the temporary file is removed and the writer is
  // spent: a second commit() throws.
  void commit();

 private:
  void discard() noexcept;

  std::string target_path_;
  std::string temporary_path_;
  File file_;
  bool committed_ = false;
};

}  // namespace deepnum::io
