#include "cri_signals.hpp"

#include <signal.h>

#include <cstdlib>
#include <string>

#include "isolate/process.hpp"

namespace hanok::cri {

namespace {
// "RTMINPLUS3" -> SIGRTMIN+3, "RTMAXMINUS2" -> SIGRTMAX-2, "RTMIN", "RTMAX".
std::optional<int> realtime(const std::string& name) {
  auto offset = [&](size_t from) -> std::optional<int> {
    if (name.size() <= from) return std::nullopt;
    std::string digits = name.substr(from);
    if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::atoi(digits.c_str());
  };
  std::optional<int> number;
  if (name == "RTMIN") number = SIGRTMIN;
  if (name == "RTMAX") number = SIGRTMAX;
  if (name.rfind("RTMINPLUS", 0) == 0) {
    if (auto n = offset(9)) number = SIGRTMIN + *n;
  }
  if (name.rfind("RTMAXMINUS", 0) == 0) {
    if (auto n = offset(10)) number = SIGRTMAX - *n;
  }
  if (number && (*number < SIGRTMIN || *number > SIGRTMAX)) return std::nullopt;
  return number;
}
}  // namespace

std::optional<int> signal_number(runtime::v1::Signal signal) {
  if (signal == runtime::v1::SIGNAL_RUNTIME_DEFAULT) return std::nullopt;
  const std::string& full = runtime::v1::Signal_Name(signal);  // "" for an unknown value
  constexpr std::string_view kPrefix = "SIGNAL_SIG";
  if (full.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string name = full.substr(kPrefix.size());
  if (auto number = realtime(name)) return number;
  if (name == "CLD") return SIGCHLD;
  if (name == "POLL" || name == "IO") return SIGIO;
  if (name == "IOT") return SIGABRT;
  return isolate::signal_from_name(name);
}

runtime::v1::Signal cri_signal(int number) {
  const auto* values = runtime::v1::Signal_descriptor();
  for (int i = 0; i < values->value_count(); ++i) {
    auto signal = static_cast<runtime::v1::Signal>(values->value(i)->number());
    if (signal_number(signal) == number) return signal;
  }
  return runtime::v1::SIGNAL_RUNTIME_DEFAULT;
}

}  // namespace hanok::cri
