// The options pattern: a plain struct with in-class defaults and a validate() member
// that throws OptionError naming the field, its value and the rule it breaks.
//
//   struct SolveOptions {
//     double rtol = 1e-6;
//     void validate() const { require_option(rtol > 0, "SolveOptions", "rtol", rtol,
//                                            "must be > 0"); }
//   };
#pragma once

#include <string_view>

#include "deepnum/core/error.hpp"

namespace deepnum {

template <class Value>
void require_option(bool condition,
                    std::string_view options_type,
                    std::string_view field,
                    const Value& value,
                    std::string_view rule) {
  if (!condition) {
    throw OptionError(
        detail::concatenate(options_type, ".", field, " = ", value, " is invalid: ", rule));
  }
}

}  // namespace deepnum
