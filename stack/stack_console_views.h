// The console's views: the `show` tables and `info` (stack_console.h lists them), in text
// as aligned columns or as JSON. Each takes a snapshot under the stack lock and formats
// it outside.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pytcp {

class Stack;

using ConsoleOut = std::function<bool(const std::string&)>;

// A table: the text form is aligned columns under a header, the JSON form an array of
// objects keyed by the (lower-case) column names; all-digit cells become JSON numbers.
struct ConsoleTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  std::string Text() const;
  std::string Json() const;
};

// A JSON string literal for `s`.
std::string JsonString(std::string_view s);
// All ASCII digits, short enough for an int64 (the JSON form writes such cells as numbers).
bool IsNumber(const std::string& s);

// `show WHAT [ARG] [--json]` (w: the command's words).
bool ConsoleShow(Stack& s, const std::vector<std::string>& w, const ConsoleOut& out);
// `info`: one JSON object naming the program and its interface.
std::string ConsoleInfo(Stack& s);

}  // namespace pytcp
