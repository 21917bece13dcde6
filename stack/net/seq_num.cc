#include "stack/net/seq_num.h"

#include <ostream>

namespace pytcp {

std::string SeqNum::ToString() const { return std::to_string(v_); }

std::ostream& operator<<(std::ostream& os, SeqNum s) { return os << s.value(); }

}  // namespace pytcp
