// `hanok update --memory 64m --cpu-quota 50000 ...`: runc update's flags as cgroup::Resources.
#include "oci/update_flags.hpp"

#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <utility>

#include "isolate/log.hpp"
#include "json_path.hpp"
#include "oci/resources.hpp"
#include "oci/spec.hpp"

namespace hanok::oci {

namespace {

namespace cg = isolate::cgroup;

[[noreturn]] void flag_error(const std::string& flag, const std::string& message) {
  throw std::invalid_argument("--" + flag + ": " + message);
}

template <typename T>
T parse_integer(const std::string& flag, const std::string& value) {
  T result{};
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, result);
  if (ec != std::errc() || ptr != end)
    flag_error(flag, "invalid integer " + detail::json_quoted(value));
  return result;
}

// The zero runc reads as "leave unchanged" (as parse_resources does for the JSON fields).
template <typename T>
std::optional<T> nonzero_integer(const std::string& flag, const std::string& value) {
  T result = parse_integer<T>(flag, value);
  if (result == 0) return std::nullopt;
  return result;
}

int64_t parse_memory(const std::string& flag, const std::string& value) {
  if (value == "-1") return -1;
  auto bytes = parse_byte_size(value);
  if (!bytes) flag_error(flag, "invalid size " + detail::json_quoted(value));
  return *bytes;
}

// validate_resources(r, "") names fields "cpu.shares"; the user wrote --cpu-share.
const std::map<std::string, std::string>& flag_for_field() {
  static const std::map<std::string, std::string> table = {
      {"blockIO.weight", "blkio-weight"},
      {"cpu.period", "cpu-period"},
      {"cpu.quota", "cpu-quota"},
      {"cpu.burst", "cpu-burst"},
      {"cpu.shares", "cpu-share"},
      {"cpu.realtimePeriod", "cpu-rt-period"},
      {"cpu.realtimeRuntime", "cpu-rt-runtime"},
      {"cpu.idle", "cpu-idle"},
      {"cpu.cpus", "cpuset-cpus"},
      {"cpu.mems", "cpuset-mems"},
      {"memory.limit", "memory"},
      {"memory.reservation", "memory-reservation"},
      {"memory.swap", "memory-swap"},
  };
  return table;
}

void validate_flags(const cg::Resources& r) {
  try {
    validate_resources(r, "");
  } catch (const SpecError& e) {
    std::string message = e.what();
    std::size_t colon = message.find(": ");
    auto it = flag_for_field().find(message.substr(0, colon));
    if (colon == std::string::npos || it == flag_for_field().end()) throw;
    flag_error(it->second, message.substr(colon + 2));
  }
}

int unit_shift(char c) {
  switch (std::tolower(static_cast<unsigned char>(c))) {
    case 'k':
      return 10;
    case 'm':
      return 20;
    case 'g':
      return 30;
    case 't':
      return 40;
    case 'p':
      return 50;
    default:
      return -1;
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<int64_t> parse_byte_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  std::string_view whole = text.substr(0, i);
  if (whole.empty()) return std::nullopt;
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    std::size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(start, i - start);
    if (fraction.empty()) return std::nullopt;
  }
  if (i < text.size() && text[i] == ' ') ++i;
  int shift = 0;
  if (i < text.size() && unit_shift(text[i]) >= 0) shift = unit_shift(text[i++]);
  if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
  if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
  if (i != text.size()) return std::nullopt;

  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const uint64_t multiplier = uint64_t{1} << shift;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), value);
  if (ec != std::errc() || value > kMax / multiplier) return std::nullopt;
  value *= multiplier;
  long double part = 0;
  long double scale = 0.1L;
  for (char c : fraction) {
    part += (c - '0') * scale;
    scale /= 10;
  }
  auto extra = static_cast<uint64_t>(part * static_cast<long double>(multiplier));
  if (extra > kMax - value) return std::nullopt;
  return static_cast<int64_t>(value + extra);
}

cg::Resources resources_from_update_flags(const std::map<std::string, std::string>& flags) {
  cg::Resources r;
  auto memory = [&r]() -> cg::Resources::Memory& {
    return r.memory ? *r.memory : r.memory.emplace();
  };
  auto cpu = [&r]() -> cg::Resources::Cpu& { return r.cpu ? *r.cpu : r.cpu.emplace(); };

  for (const auto& [flag, value] : flags) {
    if (value.empty()) continue;  // as runc: an empty value is a flag not given
    if (flag == "blkio-weight") {
      auto weight = nonzero_integer<uint16_t>(flag, value);
      if (weight) (r.block_io ? *r.block_io : r.block_io.emplace()).weight = weight;
    } else if (flag == "cpu-period") {
      cpu().period = nonzero_integer<uint64_t>(flag, value);
    } else if (flag == "cpu-quota") {
      cpu().quota = nonzero_integer<int64_t>(flag, value);
    } else if (flag == "cpu-burst") {
      cpu().burst = parse_integer<uint64_t>(flag, value);
    } else if (flag == "cpu-share") {
      cpu().shares = nonzero_integer<uint64_t>(flag, value);
    } else if (flag == "cpu-rt-period") {
      cpu().realtime_period = nonzero_integer<uint64_t>(flag, value);
    } else if (flag == "cpu-rt-runtime") {
      cpu().realtime_runtime = parse_integer<int64_t>(flag, value);
    } else if (flag == "cpu-idle") {
      cpu().idle = parse_integer<int64_t>(flag, value);
    } else if (flag == "cpuset-cpus") {
      cpu().cpus = value;
    } else if (flag == "cpuset-mems") {
      cpu().mems = value;
    } else if (flag == "memory") {
      memory().limit = parse_memory(flag, value);
    } else if (flag == "memory-reservation") {
      memory().reservation = parse_memory(flag, value);
    } else if (flag == "memory-swap") {
      int64_t swap = parse_memory(flag, value);
      if (swap != 0) memory().swap = swap;
    } else if (flag == "pids-limit") {
      r.pids_limit = nonzero_integer<int64_t>(flag, value);  // runc: 0 leaves it; -1 is max
    } else if (flag == "kernel-memory" || flag == "kernel-memory-tcp") {
      isolate::log_warning("setting --" + flag + " is ignored");
    } else if (flag == "l3-cache-schema" || flag == "mem-bw-schema") {
      flag_error(flag, "Intel RDT is not supported");
    } else {
      flag_error(flag, "unknown update flag");
    }
  }
  validate_flags(r);
  return r;
}

}  // namespace hanok::oci
