#include "psi_reader.hpp"

#include <cstdlib>

#include "isolate/files.hpp"
#include "isolate/text.hpp"

namespace hanok::cri {

bool parse_psi(std::string_view text, runtime::v1::PsiStats& out) {
  bool found = false;
  for (std::string_view line : isolate::split(text, "\n")) {
    auto fields = isolate::split(line, " ");
    if (fields.empty() || (fields[0] != "some" && fields[0] != "full")) continue;
    runtime::v1::PsiData* data = fields[0] == "some" ? out.mutable_some() : out.mutable_full();
    for (size_t i = 1; i < fields.size(); ++i) {
      auto equals = fields[i].find('=');
      if (equals == std::string_view::npos) continue;
      std::string_view key = fields[i].substr(0, equals);
      std::string value(fields[i].substr(equals + 1));
      if (key == "total") {
        data->set_total(std::strtoull(value.c_str(), nullptr, 10) * 1000);
      } else if (key == "avg10") {
        data->set_avg10(std::strtod(value.c_str(), nullptr));
      } else if (key == "avg60") {
        data->set_avg60(std::strtod(value.c_str(), nullptr));
      } else if (key == "avg300") {
        data->set_avg300(std::strtod(value.c_str(), nullptr));
      }
    }
    found = true;
  }
  return found;
}

bool read_psi(const std::string& dir, const char* resource, runtime::v1::PsiStats& out) {
  auto text = isolate::read_file_if_exists(dir + "/" + resource + ".pressure");
  return text && parse_psi(*text, out);
}

}  // namespace hanok::cri
