// The Markdown reference of the configuration, generated from the key table (key_table.h):
// configuration_reference_markdown() (config.h), printed by `brokergw --print-config-doc` and
// embedded in docs/CONFIGURATION.md, which unit_config checks against it.
//
// Threads: the main thread (the CLI, the unit test); pure, no state.
//
// Invariants: the output is a function of the tables only (same rows, same bytes), one table
// per section in table order; `|` in cells is escaped. The first line is frozen: it is part of
// docs/CONFIGURATION.md, so it is changed only together with that file.
#include <sstream>
#include <string>
#include <string_view>

#include "gateway/config/config.h"
#include "gateway/config/key_table.h"

namespace brokergw::config {
namespace {

using detail::broker_section;
using detail::global_sections;
using detail::KeySpec;
using detail::KeyType;
using detail::PathCheck;
using detail::Presence;
using detail::Section;

std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

template <class Target>
std::string default_cell(const KeySpec<Target>& spec) {
  switch (spec.presence) {
    case Presence::kRequired:
      return "required";
    case Presence::kOptional:
      return "unset";
    case Presence::kDefault:
      break;
  }
  switch (spec.type) {
    case KeyType::kInteger:
      return "`" + std::to_string(spec.default_int) + "`";
    case KeyType::kBool:
      return "`" + std::string(spec.default_text) + "`";
    case KeyType::kString:
    case KeyType::kPath:
      break;
  }
  return "`\"" + std::string(spec.default_text) + "\"`";
}

template <class Target>
std::string allowed_cell(const KeySpec<Target>& spec) {
  switch (spec.type) {
    case KeyType::kInteger:
      return std::to_string(spec.min) + " to " + std::to_string(spec.max);
    case KeyType::kBool:
      return "`true`, `false`";
    case KeyType::kPath:
      switch (spec.path_check) {
        case PathCheck::kNone:
          return "any path";
        case PathCheck::kReadableFile:
          return "readable file";
        case PathCheck::kNonEmptyFile:
          return "readable, non-empty file";
      }
      return "";
    case KeyType::kString:
      break;
  }
  if (!spec.allowed.empty()) {
    std::string out;
    for (const auto& a : spec.allowed) {
      if (!out.empty()) out += ", ";
      out += "`" + std::string(a) + "`";
    }
    return out;
  }
  return spec.allowed_doc.empty() ? "any string" : std::string(spec.allowed_doc);
}

std::string_view type_cell(KeyType t) {
  switch (t) {
    case KeyType::kString:
      return "string";
    case KeyType::kInteger:
      return "integer";
    case KeyType::kBool:
      return "bool";
    case KeyType::kPath:
      return "path";
  }
  return "";
}

template <class Target>
void render_section(std::ostringstream& out, const Section<Target>& section) {
  out << "\n### `[" << section.name << "]`\n\n" << section.doc << "\n\n";
  out << "| Key | Type | Default | Allowed | Description |\n";
  out << "|---|---|---|---|---|\n";
  for (const auto& spec : section.keys) {
    out << "| `" << spec.name << "` | " << type_cell(spec.type) << " | " << cell(default_cell(spec))
        << " | " << cell(allowed_cell(spec)) << " | " << cell(spec.doc) << " |\n";
  }
}

}  // namespace

std::string configuration_reference_markdown() {
  std::ostringstream out;
  out << "<!-- Do not edit: generated from the key table in gateway/config/keys_*.cpp. -->\n";
  for (const auto& section : global_sections()) render_section(out, section);
  render_section(out, broker_section());
  return out.str();
}

}  // namespace brokergw::config
