// Anchor translation unit for the net layer (its types are mostly constexpr headers).
#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/net/mac_address.h"
#include "stack/net/seq_num.h"
