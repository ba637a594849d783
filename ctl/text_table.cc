#include "ctl/text_table.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"

namespace ccwpass::ctl {
namespace {

// Display width of UTF-8 text: code points, not bytes (continuation bytes
// 10xxxxxx do not count).
size_t Width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

TextTable::TextTable(std::vector<std::string> header) : header_(std::move(header)) {}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(header_.size());
  lines_.push_back(Line{false, std::move(cells)});
}

void TextTable::AddNote(std::string line) { lines_.push_back(Line{true, {std::move(line)}}); }

std::string TextTable::Render() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], Width(cells[i]));
  };
  measure(header_);
  for (const Line& l : lines_) {
    if (!l.note) measure(l.cells);
  }
  std::string out;
  auto row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i + 1 < cells.size()) {
        line += fmt::format("{}{:{}}", cells[i], "", widths[i] - Width(cells[i]) + 2);
      } else {
        line += cells[i];
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    out += '\n';
  };
  row(header_);
  for (const Line& l : lines_) {
    if (l.note) {
      out += l.cells[0];
      out += '\n';
    } else {
      row(l.cells);
    }
  }
  return out;
}

}  // namespace ccwpass::ctl
