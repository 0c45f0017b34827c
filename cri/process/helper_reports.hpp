// Private to cri/: what a helper started by hanokd (`hanok-monitor container`, `hanok-monitor pod`)
// reports on its sync pipe: one line per report, "<tag><text>\n" ("M1234", "C5678", "Eno such
// file", ...), read until a final one.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "images/stop_token.hpp"

namespace hanok::cri {

struct HelperReport {
  char tag = 0;
  std::string text;
};

// Reads reports from `fd` until one whose tag is in `final_tags` (the last of the result). Calls
// `on_report` for each as it comes. Throws isolate::Error when `timeout` passes, when `stop`
// stops (images::Stopped), or when the pipe ends without a final report; `what` names the
// helper in the message.
std::vector<HelperReport> read_helper_reports(
    int fd, const std::string& final_tags, std::chrono::seconds timeout,
    const images::StopToken& stop, const std::string& what,
    const std::function<void(const HelperReport&)>& on_report = [](const HelperReport&) {});

}  // namespace hanok::cri
