// A plain-text table for ccwctl's human-readable output: left-aligned columns
// padded to their widest cell, two spaces apart, and free "note" lines (a
// section title such as "chain 1 at 0x1018") between rows.
//
// (Debian packages no C++ table library; this is the one small helper, the
// formatting itself is fmt's.)
#ifndef CCWPASS_CTL_TEXT_TABLE_H_
#define CCWPASS_CTL_TEXT_TABLE_H_

#include <string>
#include <vector>

namespace ccwpass::ctl {

class TextTable {
 public:
  // The column titles; every row has as many cells.
  explicit TextTable(std::vector<std::string> header);

  // Appends a row. Missing cells print empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  // Appends a line printed as it is, outside the columns.
  void AddNote(std::string line);

  // The header, then rows and notes in the order added; each line ends in '\n'
  // and carries no trailing spaces. Widths count UTF-8 code points, so a cell
  // such as "→ ccw 1" is as wide as it looks.
  std::string Render() const;

 private:
  struct Line {
    bool note = false;
    std::vector<std::string> cells;  // one cell for a note
  };
  std::vector<std::string> header_;
  std::vector<Line> lines_;
};

}  // namespace ccwpass::ctl

#endif  // CCWPASS_CTL_TEXT_TABLE_H_
