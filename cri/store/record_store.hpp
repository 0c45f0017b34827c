// Private to cri/: the pods' and containers' records in the metadata database (tables cri_pods
// and cri_containers next to the image tables, a connection of their own). Each change is one
// transaction; a crash leaves every record as it was before or after it.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "images/sqlite.hpp"
#include "store.pb.h"

namespace hanok::cri {

class RecordStore {
 public:
  // Opens <path> (the image store's metadata.db) and creates the tables when missing.
  explicit RecordStore(const std::string& path);

  void put(const store::PodRecord& pod);
  void put(const store::ContainerRecord& container);
  void remove_pod(const std::string& id);
  void remove_container(const std::string& id);
  std::vector<store::PodRecord> pods();
  std::vector<store::ContainerRecord> containers();

 private:
  std::mutex mutex_;
  images::sqlite::DbPtr db_;
};

}  // namespace hanok::cri
