#include "cri/daemon.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <thread>

#include "cri/image_service.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/unix_socket.hpp"

namespace hanok::cri {

namespace {
images::RegistryClient::CredentialsLookup credentials_from(const DaemonConfig& config) {
  auto auths = config.auths;
  return [auths](const std::string& registry) -> std::optional<images::Credentials> {
    for (const auto& auth : auths) {
      if (auth.registry == registry) {
        return images::Credentials{auth.username, auth.password, "", "", ""};
      }
    }
    return std::nullopt;
  };
}

// A socket file left by a hanokd that died is removed; one that answers belongs to a live one.
void claim_socket(const std::string& path) {
  if (!isolate::path_exists(path)) return;
  try {
    isolate::connect_unix(path);
  } catch (const isolate::SysError&) {
    ::unlink(path.c_str());
    return;
  }
  throw std::runtime_error("another hanokd serves " + path);
}
}  // namespace

void serve(const DaemonConfig& config) {
  isolate::make_dirs(config.root, 0711);
  isolate::make_dirs(config.state, 0711);
  std::string socket_dir = config.socket.substr(0, config.socket.rfind('/'));
  if (!socket_dir.empty()) isolate::make_dirs(socket_dir, 0711);
  claim_socket(config.socket);

  images::RegistryClient registry(config.registries, credentials_from(config));
  images::ImageStore store(config.root, registry);
  ImageService image_service(store);
  RuntimeService runtime_service;

  // SIGTERM/SIGINT are taken by one thread with sigwait: blocked before gRPC starts its threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + config.socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&image_service);
  builder.RegisterService(&runtime_service);
  // The socket is born 0600: the CRI is root's alone, from the first instant.
  mode_t previous = ::umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(previous);
  if (!server) throw std::runtime_error("cannot listen on " + config.socket);
  isolate::log_line(isolate::LogLevel::Info, "hanokd serving the CRI on " + config.socket);

  std::thread stopper([&] {
    int signal = 0;
    ::sigwait(&stop_signals, &signal);
    isolate::log_line(isolate::LogLevel::Info,
                      "hanokd stopping on signal " + std::to_string(signal));
    server->Shutdown();
  });
  server->Wait();
  stopper.join();
  ::unlink(config.socket.c_str());
}

}  // namespace hanok::cri
