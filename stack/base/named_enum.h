// An enum class whose ToString() is written by the compiler from the enumerator list, so a
// new enumerator cannot be left without a name and every error enum names its values the
// same way. One list,
//
//   PYTCP_NAMED_ENUM(ArpParseError, uint8_t,
//     kTooShort,         // why it is returned
//     kBadHardwareType,
//   );
//
// makes `enum class ArpParseError : uint8_t { kTooShort, kBadHardwareType, }` and
// `ToString(ArpParseError)` (found by ADL) giving each name in snake case without the k
// ("too_short", "bad_hardware_type": what the logs, the console and the tests read).
// PYTCP_NAMED_ENUM_UPPER names them as the RFCs and Linux write states, in capitals with a
// digit a word of its own (kFinWait1: "FIN_WAIT_1", kReachable: "REACHABLE").
// The enumerators are 0..N-1 (no `= value`: the names are a table indexed by the value);
// a value outside them, which only a cast can make, is "unknown".
// PYTCP_COUNTERS (counters.h) names its counters with the same table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pytcp {

namespace enum_name_detail {
constexpr bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t'; }
constexpr bool IsSeparator(char c) { return c == ',' || IsSpace(c); }
constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
constexpr bool IsIdentifierChar(char c) {
  return IsUpper(c) || IsDigit(c) || IsLower(c) || c == '_';
}
}  // namespace enum_name_detail

// How many names an enumerator list's source text holds: its words between commas and
// white space.
template <size_t L>
constexpr size_t CountEnumNames(const char (&list)[L]) {
  size_t count = 0;
  for (size_t i = 0; i + 1 < L; ++i) {
    if (!enum_name_detail::IsSeparator(list[i]) &&
        (i == 0 || enum_name_detail::IsSeparator(list[i - 1]))) {
      ++count;
    }
  }
  return count;
}

// The names of an enumerator list given as its source text ("kRxFrames, kRxDropBadLength,"),
// built at compile time: the leading k dropped, an underscore before each word, lower case
// (kUpper: capitals, and an underscore before a number too).
template <size_t N, size_t L, bool kUpper = false>
class EnumNameTable {
 public:
  constexpr explicit EnumNameTable(const char (&list)[L]) {
    using enum_name_detail::IsDigit, enum_name_detail::IsIdentifierChar,
        enum_name_detail::IsSeparator, enum_name_detail::IsUpper, enum_name_detail::ToLower,
        enum_name_detail::ToUpper;
    size_t count = 0;
    size_t out = 0;
    size_t i = 0;
    while (i + 1 < L) {
      while (i + 1 < L && IsSeparator(list[i])) ++i;
      if (i + 1 >= L) break;
      size_t start = i;
      while (i + 1 < L && !IsSeparator(list[i])) ++i;
      if (count == N || IsDigit(list[start])) NotAnEnumeratorList();
      if (list[start] == 'k') ++start;
      begin_[count] = static_cast<uint16_t>(out);
      for (size_t j = start; j < i; ++j) {
        const char c = list[j];
        if (!IsIdentifierChar(c)) NotAnEnumeratorList();  // `= 3`: see the top of the file
        // A word starts at a capital after a small letter or digit, or at the last capital
        // of an acronym followed by a small letter.
        if (IsUpper(c) && j > start &&
            (!IsUpper(list[j - 1]) || (j + 1 < i && !IsUpper(list[j + 1]) &&
                                       !IsDigit(list[j + 1])))) {
          chars_[out++] = '_';
        } else if (kUpper && IsDigit(c) && j > start && !IsDigit(list[j - 1])) {
          chars_[out++] = '_';
        }
        chars_[out++] = kUpper ? ToUpper(c) : ToLower(c);
      }
      end_[count] = static_cast<uint16_t>(out);
      ++count;
    }
    if (count != N) NotAnEnumeratorList();
  }
  constexpr std::string_view operator[](size_t i) const {
    return {chars_.data() + begin_[i], static_cast<size_t>(end_[i] - begin_[i])};
  }
  // operator[], or "unknown" past the end (an enum value no enumerator has).
  constexpr std::string_view NameOr(size_t i) const {
    return i < N ? (*this)[i] : std::string_view("unknown");
  }

 private:
  // Not constexpr: reaching it while the table is built at compile time is an error (the
  // list is not a plain list of enumerators).
  static void NotAnEnumeratorList() {}

  std::array<char, 2 * L> chars_{};
  std::array<uint16_t, N> begin_{};
  std::array<uint16_t, N> end_{};
};

// Declares the enum `Name` from its enumerators (each followed by a comma) and its
// ToString(); see the top of this file.
#define PYTCP_NAMED_ENUM(Name, Type, ...) PYTCP_NAMED_ENUM_STYLED(Name, Type, false, __VA_ARGS__)
#define PYTCP_NAMED_ENUM_UPPER(Name, Type, ...) \
  PYTCP_NAMED_ENUM_STYLED(Name, Type, true, __VA_ARGS__)
#define PYTCP_NAMED_ENUM_STYLED(Name, Type, Upper, ...)                            \
  enum class Name : Type { __VA_ARGS__ };                                          \
  inline std::string_view ToString(Name e) {                                       \
    static constexpr ::pytcp::EnumNameTable<::pytcp::CountEnumNames(#__VA_ARGS__), \
                                            sizeof(#__VA_ARGS__), Upper>           \
        kNames(#__VA_ARGS__);                                                      \
    return kNames.NameOr(static_cast<size_t>(e));                                  \
  }

}  // namespace pytcp
