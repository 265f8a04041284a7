#include "daemons/shell/table_printer.h"

#include <algorithm>

#include "pegasus/base/check.h"

namespace pegasus::shell {

void TablePrinter::AddRow(std::vector<std::string> cells) {
  PEGASUS_CHECK_EQ(cells.size(), header_.size());
  rows_.push_back(std::move(cells));
}

void TablePrinter::Print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) widths[c] = header_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) {
        text += std::string(widths[c] - cells[c].size() + 2, ' ');
      }
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << "\n";
  };
  line(header_);
  for (const auto& row : rows_) line(row);
}

}  // namespace pegasus::shell
