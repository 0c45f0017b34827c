// Typed, path-aware access to config.json values.
#include "json_path.hpp"

#include "oci/spec.hpp"

namespace hanok::oci::detail {

namespace {

const char* type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "an integer";
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

}  // namespace

std::string path_key(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string result = path;
  result += '.';
  result += key;
  return result;
}

std::string path_index(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string json_quoted(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void fail(const std::string& path, const std::string& message) {
  throw SpecError((path.empty() ? std::string("config.json") : path) + ": " + message);
}

void Node::expect_object() const {
  if (!value_->is_object()) fail_type("an object");
}

void Node::fail_type(const char* wanted) const {
  fail(std::string("must be ") + wanted + ", not " + type_name(*value_));
}

void Node::fail_integer(const std::string& min, const std::string& max) const {
  fail("must be an integer from " + min + " to " + max);
}

std::optional<Node> Node::get(std::string_view key) const {
  expect_object();
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return Node(*it, path_key(path_, key));
}

Node Node::at(std::string_view key) const {
  auto member = get(key);
  if (!member) detail::fail(path_key(path_, key), "is required");
  return *member;
}

std::vector<Node> Node::items() const {
  if (!value_->is_array()) fail_type("an array");
  std::vector<Node> result;
  result.reserve(value_->size());
  for (std::size_t i = 0; i < value_->size(); ++i) {
    result.emplace_back((*value_)[i], path_index(path_, i));
  }
  return result;
}

std::vector<std::pair<std::string, Node>> Node::members() const {
  expect_object();
  std::vector<std::pair<std::string, Node>> result;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    result.emplace_back(it.key(), Node(it.value(), path_key(path_, it.key())));
  }
  return result;
}

std::string Node::str() const {
  if (!value_->is_string()) fail_type("a string");
  return value_->get<std::string>();
}

bool Node::boolean() const {
  if (!value_->is_boolean()) fail_type("a boolean");
  return value_->get<bool>();
}

std::vector<std::string> Node::strings() const {
  std::vector<std::string> result;
  for (const Node& item : items()) result.push_back(item.str());
  return result;
}

std::map<std::string, std::string> Node::string_map() const {
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : members()) result.emplace(key, value.str());
  return result;
}

}  // namespace hanok::oci::detail
