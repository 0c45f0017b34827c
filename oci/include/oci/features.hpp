// The runtime-spec features document (`hanok features`): what this runtime implements.
#pragma once

#include <nlohmann/json.hpp>

namespace hanok::oci {

nlohmann::json features_json();

}  // namespace hanok::oci
