// Helpers for the config.json parser tests: a minimal valid document and error capture.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "oci/spec.hpp"

namespace hanok::oci::testing {

// The smallest config.json parse_spec accepts.
inline nlohmann::json minimal_config() {
  return {{"ociVersion", "1.2.0"}, {"root", {{"path", "rootfs"}}}};
}

// minimal_config() with a valid process.
inline nlohmann::json config_with_process() {
  nlohmann::json config = minimal_config();
  config["process"] = {
      {"user", {{"uid", 0}, {"gid", 0}}}, {"args", nlohmann::json::array({"sh"})}, {"cwd", "/"}};
  return config;
}

// The SpecError message parse_spec gives, or "<accepted>".
inline std::string parse_error(const std::string& text) {
  try {
    parse_spec(text);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "<accepted>";
}

inline std::string parse_error(const nlohmann::json& config) {
  return parse_error(config.dump());
}

inline ::testing::AssertionResult starts_with(const std::string& text, const std::string& prefix) {
  if (text.starts_with(prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not start with \"" << prefix << "\"";
}

}  // namespace hanok::oci::testing

// The config is rejected with a message that starts with `prefix` (the JSON path and more).
#define EXPECT_REJECTED(config, prefix) \
  EXPECT_TRUE(                          \
      ::hanok::oci::testing::starts_with(::hanok::oci::testing::parse_error(config), prefix))
