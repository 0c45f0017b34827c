// Image benchmark driver (see test/bench/README.md, "Image benchmark"). Three modes, each one
// timed measurement on a fresh directory:
//
//   hanok_image_bench pull --root DIR --registry HOST:PORT --image NAME:TAG
//       ImageStore::pull over plain http (download + verify + unpack + metadata).
//       Prints "pull+unpack: <ms> ms".
//   hanok_image_bench download --root DIR --registry HOST:PORT --image NAME:TAG
//       Only the registry part of a pull: manifest, config and every layer blob into a
//       ContentStore, the layers side by side (one thread each, as ImageStore::pull does).
//       Prints "download: <ms> ms".
//   hanok_image_bench unpack --layout DIR --root DIR
//       unpack_layer of each layer of an OCI layout's image, one after the other, each into its
//       own fresh directory under --root. Prints each layer and "unpack: <ms> ms" (the total).
//
// --root must not exist or be empty; it is left in place (the caller removes it).
// Exit status: 0 on success, 1 on a failed measurement, 2 on usage errors.
#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "images/content_store.hpp"
#include "images/image_store.hpp"
#include "images/manifest.hpp"
#include "images/reference.hpp"
#include "images/registry_client.hpp"
#include "images/unpack.hpp"
#include "isolate/files.hpp"

namespace {

using namespace hanok;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "hanok_image_bench: %s\n"
      "usage: hanok_image_bench pull     --root DIR --registry HOST:PORT --image NAME:TAG\n"
      "       hanok_image_bench download --root DIR --registry HOST:PORT --image NAME:TAG\n"
      "       hanok_image_bench unpack   --layout DIR --root DIR\n",
      why.c_str());
  std::exit(2);
}

bool dir_is_empty(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) throw std::runtime_error("open " + path + ": not a readable directory");
  bool empty = true;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  return empty;
}

// A fresh root: created when missing, refused when it has anything in it.
void fresh_root(const std::string& root) {
  if (isolate::path_exists(root) && !dir_is_empty(root)) {
    throw std::runtime_error("--root " + root + " is not empty");
  }
  isolate::make_dirs(root, 0700);
}

int run_pull(const std::string& root, const std::string& registry, const std::string& image) {
  fresh_root(root);
  images::RegistryClient client({images::RegistryHost{registry, {}, true, ""}});
  images::ImageStore store(root, client);
  auto start = Clock::now();
  images::ImageInfo info = store.pull(registry + "/" + image);
  double ms = ms_since(start);
  std::printf("image: %s (%zu layers, %llu bytes)\n", info.id.c_str(), info.chain_ids.size(),
              static_cast<unsigned long long>(info.size));
  std::printf("pull+unpack: %.1f ms\n", ms);
  return 0;
}

int run_download(const std::string& root, const std::string& registry, const std::string& image) {
  fresh_root(root);
  images::RegistryClient client({images::RegistryHost{registry, {}, true, ""}});
  images::ContentStore content(root);
  images::Reference ref = images::parse_reference(registry + "/" + image);
  auto start = Clock::now();
  auto top = client.fetch_manifest(ref, std::nullopt);
  content.put(top.digest, top.body);
  auto chosen = top;
  if (images::is_index_media_type(top.media_type)) {
    images::Index index = images::parse_index(top.body, top.media_type);
    chosen =
        client.fetch_manifest_by_digest(ref, images::select_platform(index).digest, std::nullopt);
    content.put(chosen.digest, chosen.body);
  }
  images::Manifest manifest = images::parse_manifest(chosen.body, chosen.media_type);
  client.fetch_blob(ref, manifest.config, content, std::nullopt);
  std::vector<std::future<void>> tasks;
  for (const auto& layer : manifest.layers) {
    tasks.push_back(std::async(std::launch::async, [&client, &ref, &content, layer] {
      client.fetch_blob(ref, layer, content, std::nullopt);
    }));
  }
  std::exception_ptr failure;
  for (auto& task : tasks) {
    try {
      task.get();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  double ms = ms_since(start);
  std::printf("download: %.1f ms\n", ms);
  return 0;
}

// The image manifest of an OCI layout: index.json's first entry (through a nested image index
// for the default platform).
images::Manifest layout_manifest(const std::string& layout) {
  auto blob = [&](const images::Digest& digest) {
    return layout + "/blobs/sha256/" + std::string(digest.hex());
  };
  std::string index_json = isolate::read_file(layout + "/index.json");
  images::Index index = images::parse_index(index_json, images::kOciIndex);
  if (index.manifests.empty()) throw std::runtime_error(layout + "/index.json: no manifests");
  images::Descriptor desc = index.manifests.front();
  if (images::is_index_media_type(desc.media_type)) {
    images::Index nested =
        images::parse_index(isolate::read_file(blob(desc.digest)), desc.media_type);
    desc = images::select_platform(nested);
  }
  return images::parse_manifest(isolate::read_file(blob(desc.digest)), desc.media_type);
}

int run_unpack(const std::string& layout, const std::string& root) {
  images::Manifest manifest = layout_manifest(layout);
  fresh_root(root);
  double total = 0;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const auto& layer = manifest.layers[i];
    std::string path = layout + "/blobs/sha256/" + std::string(layer.digest.hex());
    std::string target = root + "/layer-" + std::to_string(i);
    isolate::make_dirs(target, 0755);
    auto start = Clock::now();
    images::UnpackResult result =
        images::unpack_layer(path, images::layer_compression(layer.media_type), target);
    double ms = ms_since(start);
    total += ms;
    std::printf("layer %zu: %s %llu bytes compressed, %llu bytes of files, %.1f ms\n", i,
                layer.digest.str().c_str(), static_cast<unsigned long long>(layer.size),
                static_cast<unsigned long long>(result.unpacked_bytes), ms);
  }
  std::printf("unpack: %.1f ms\n", total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("no mode given");
  std::string mode = argv[1];
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg != "--root" && arg != "--registry" && arg != "--image" && arg != "--layout") {
      usage("unknown argument " + arg);
    }
    if (i + 1 >= argc) usage(arg + " needs a value");
    flags[arg] = argv[++i];
  }
  auto need = [&](const std::string& flag) {
    auto it = flags.find(flag);
    if (it == flags.end() || it->second.empty()) usage(mode + " needs " + flag);
    return it->second;
  };
  try {
    if (mode == "pull") return run_pull(need("--root"), need("--registry"), need("--image"));
    if (mode == "download") {
      return run_download(need("--root"), need("--registry"), need("--image"));
    }
    if (mode == "unpack") return run_unpack(need("--layout"), need("--root"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hanok_image_bench %s: %s\n", mode.c_str(), e.what());
    return 1;
  }
  usage("unknown mode " + mode);
}
