#include "cri/daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include "cri/image_service.hpp"
#include "cri/runtime_service.hpp"
#include "images/reference.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"
#include "isolate/unix_socket.hpp"
#include "runtime_core.hpp"
#include "stream_server.hpp"
#include "stream_sessions.hpp"

namespace hanok::cri {

namespace {
constexpr int kMaxRequestBytes = 16 << 20;
images::RegistryClient::CredentialsLookup credentials_from(const DaemonConfig& config) {
  auto auths = config.auths;
  return [auths](const std::string& registry) -> std::optional<images::Credentials> {
    for (const auto& auth : auths) {
      if (auth.registry == registry) {
        return images::Credentials{auth.username, auth.password, "", "", "", auth.registry};
      }
    }
    return std::nullopt;
  };
}

// One hanokd per root: an flock on <root>/hanokd.lock, held for the daemon's life. A second one
// fails at once, before it touches anything of the first one's.
isolate::UniqueFd lock_root(const std::string& root) {
  std::string path = root + "/hanokd.lock";
  isolate::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) isolate::throw_sys("open", path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw std::runtime_error("another hanokd uses the root " + root + " (" + path +
                               " is locked)");
    }
    isolate::throw_sys("lock", path);
  }
  return fd;
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

// The names the kubelet would use for the sandbox and pinned images.
std::set<std::string> pinned_names(const DaemonConfig& config) {
  std::set<std::string> names;
  std::vector<std::string> wanted = config.pinned_images;
  if (!config.sandbox_image.empty()) wanted.push_back(config.sandbox_image);
  for (const auto& name : wanted) {
    try {
      names.insert(images::parse_reference(name).str());
    } catch (const images::ReferenceError& e) {
      spdlog::warn("pinned image {}: {}", name, e.what());
    }
  }
  return names;
}
}  // namespace

void serve(const DaemonConfig& config) {
  // SIGTERM/SIGINT are taken by one thread with sigwait: blocked before any thread starts (the
  // exit watcher's, gRPC's), which all inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  isolate::make_dirs(config.root, 0711);
  isolate::make_dirs(config.state, 0711);
  isolate::UniqueFd root_lock = lock_root(config.root);
  std::string socket_dir = config.socket.substr(0, config.socket.rfind('/'));
  if (!socket_dir.empty()) isolate::make_dirs(socket_dir, 0711);
  claim_socket(config.socket);

  images::RegistryClientOptions registry_options;
  registry_options.progress_timeout = std::chrono::seconds(config.image_pull_progress_timeout_s);
  images::RegistryClient registry(config.registries, credentials_from(config), registry_options);
  images::ImageStoreOptions store_options;
  store_options.max_parallel_downloads = static_cast<size_t>(config.max_concurrent_downloads);
  if (!config.platform.empty()) store_options.platform = images::parse_platform(config.platform);
  images::ImageStore store(config.root, registry, store_options);
  std::atomic<bool> stopping{false};
  RuntimeCore core(config, store, stopping);
  ImageService image_service(store, core.stats(), pinned_names(config), stopping);
  PodStreamHandler stream_handler(core);
  StreamingServer streaming(stream_handler, config.streaming_address, config.streaming_tls_cert,
                            config.streaming_tls_key);
  RuntimeService runtime_service(core, streaming);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + config.socket, grpc::InsecureServerCredentials());
  // What one request may be: 16 MiB, containerd's (defaults.DefaultMaxRecvMsgSize), not gRPC's
  // 4 MiB; a pod or container config with large annotations or many mounts fits.
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.RegisterService(&image_service);
  builder.RegisterService(&runtime_service);
  // The socket is born 0600: the CRI is root's alone, from the first instant.
  mode_t previous = ::umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(previous);
  if (!server) throw std::runtime_error("cannot listen on " + config.socket);
  spdlog::info("hanokd {} serving the CRI on {} (root {}, state {})", HANOK_VERSION, config.socket,
               config.root, config.state);

  std::thread stopper([&] {
    int signal = 0;
    ::sigwait(&stop_signals, &signal);
    spdlog::info("stopping on signal {}: no new calls, running ones cancelled", signal);
    // Running pulls see `stopping` within a second; what is still running after 5 s is cut off.
    stopping = true;
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  });
  server->Wait();
  stopper.join();
  ::unlink(config.socket.c_str());
  spdlog::info("stopped");
}

}  // namespace hanok::cri
