// Text helpers shared by everything that reads kernel files and configuration: trimming,
// splitting and parsing numbers without exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hanok::isolate {

// Without leading and trailing spaces, tabs, carriage returns and newlines.
std::string_view trim(std::string_view text);
// The non-empty pieces of `text` between any of the `separators`.
std::vector<std::string_view> split(std::string_view text, std::string_view separators);
// Every piece between single `separator` characters, empty ones included ("a::b" -> a, "", b).
std::vector<std::string> split_exact(std::string_view text, char separator);
// A /proc/<pid>/mountinfo field as it is: mountinfo escapes ' ', '\t', '\n' and '\\' as octal
// "\040".
std::string unescape_mountinfo(std::string_view text);
// "dir/name" (one slash between them).
std::string join_path(std::string_view dir, std::string_view name);
// A whole decimal number (surrounding whitespace allowed); nullopt for anything else.
std::optional<uint64_t> parse_u64(std::string_view text);
std::optional<int64_t> parse_i64(std::string_view text);

}  // namespace hanok::isolate
