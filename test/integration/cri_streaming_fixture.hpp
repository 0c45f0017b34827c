// The CRI tests' streaming clients: Exec, Attach and PortForward URLs from hanokd, and the test
// clients (test/tools/spdy_client.py, ws_client.py, written apart from the server) that speak
// the kubelet's protocols there and print what came back as JSON.
#pragma once

#include "cri_fixture.hpp"

namespace hanok::test {

class CriStreamingFixture : public CriFixture {
 protected:
  std::string exec_url(const std::string& id, const std::vector<std::string>& cmd, bool in,
                       bool out, bool err, bool tty) {
    v1::ExecRequest request;
    request.set_container_id(id);
    for (const auto& arg : cmd) request.add_cmd(arg);
    request.set_stdin(in);
    request.set_stdout(out);
    request.set_stderr(err);
    request.set_tty(tty);
    v1::ExecResponse response;
    auto context = cri().context();
    auto status = cri().runtime().Exec(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.url();
  }
  std::string attach_url(const std::string& id, bool in, bool out, bool err) {
    v1::AttachRequest request;
    request.set_container_id(id);
    request.set_stdin(in);
    request.set_stdout(out);
    request.set_stderr(err);
    v1::AttachResponse response;
    auto context = cri().context();
    auto status = cri().runtime().Attach(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.url();
  }
  std::string port_forward_url(const std::string& pod_id) {
    v1::PortForwardRequest request;
    request.set_pod_sandbox_id(pod_id);
    v1::PortForwardResponse response;
    auto context = cri().context();
    auto status = cri().runtime().PortForward(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.url();
  }
  // The JSON a test client (a script in test/tools) prints for `url`.
  static nlohmann::json run_client(const std::string& script, const std::string& url,
                                   const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(HANOK_TEST_TOOLS) + "/" + script, url};
    argv.insert(argv.end(), args.begin(), args.end());
    Result result = run_program(argv);
    auto json = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_TRUE(json.is_object()) << result.out << result.err;
    return json.is_object() ? json : nlohmann::json::object();
  }
  static nlohmann::json client(const std::string& url, const std::vector<std::string>& args) {
    return run_client("spdy_client.py", url, args);
  }
  static nlohmann::json ws_client(const std::string& url, const std::vector<std::string>& args) {
    return run_client("ws_client.py", url, args);
  }
  static nlohmann::json status_of(const nlohmann::json& result) {
    return nlohmann::json::parse(result.value("error", ""), nullptr, false);
  }
};

}  // namespace hanok::test
