// Results as aligned text tables:
//
//   app_id  name  status     partitions  replicas
//   1       temp  AVAILABLE  8           3

#ifndef DAEMONS_SHELL_TABLE_PRINTER_H_
#define DAEMONS_SHELL_TABLE_PRINTER_H_

#include <ostream>
#include <string>
#include <vector>

namespace pegasus::shell {

class TablePrinter {
 public:
  explicit TablePrinter(std::vector<std::string> header)
      : header_(std::move(header)) {}

  // REQUIRES: as many cells as the header has.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Every column as wide as its widest cell, two blanks between columns.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace pegasus::shell

#endif  // DAEMONS_SHELL_TABLE_PRINTER_H_
