// Private to oci/src: a read-only view of one JSON value that knows its path in config.json,
// so every type error names the field: `process.user.uid: must be an integer from 0 to ...`.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hanok::oci::detail {

// "linux" + "namespaces" -> "linux.namespaces"; "" + "ociVersion" -> "ociVersion".
std::string path_key(const std::string& path, std::string_view key);
// "linux.namespaces" + 2 -> "linux.namespaces[2]".
std::string path_index(const std::string& path, std::size_t index);
// A value as it should appear in a message: "foo" -> "\"foo\"" (JSON-escaped).
std::string json_quoted(std::string_view text);
// Throws SpecError("<path>: <message>"); an empty path is the document itself, "config.json".
[[noreturn]] void fail(const std::string& path, const std::string& message);

class Node {
 public:
  Node(const nlohmann::json& value, std::string path) : value_(&value), path_(std::move(path)) {}

  const nlohmann::json& json() const { return *value_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(const std::string& message) const { detail::fail(path_, message); }

  // Object members. `get` treats a missing member and an explicit null alike (as Go does).
  std::optional<Node> get(std::string_view key) const;
  Node at(std::string_view key) const;  // required: "<path>.<key>: is required"
  // Array elements (the value must be an array).
  std::vector<Node> items() const;
  // Object members in key order (the value must be an object).
  std::vector<std::pair<std::string, Node>> members() const;

  std::string str() const;
  bool boolean() const;
  std::vector<std::string> strings() const;
  std::map<std::string, std::string> string_map() const;

  template <typename T>
  T integer() const {
    const nlohmann::json& v = *value_;
    if (v.is_number_unsigned()) {
      auto n = v.get<uint64_t>();
      if (std::cmp_less_equal(n, std::numeric_limits<T>::max())) return static_cast<T>(n);
    } else if (v.is_number_integer()) {
      auto n = v.get<int64_t>();
      if (std::in_range<T>(n)) return static_cast<T>(n);
    }
    fail_integer(std::to_string(std::numeric_limits<T>::min()),
                 std::to_string(std::numeric_limits<T>::max()));
  }

 private:
  void expect_object() const;
  [[noreturn]] void fail_type(const char* wanted) const;
  [[noreturn]] void fail_integer(const std::string& min, const std::string& max) const;

  const nlohmann::json* value_;
  std::string path_;
};

}  // namespace hanok::oci::detail
