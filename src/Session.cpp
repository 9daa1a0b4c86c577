// Session ids and status names.
#include "verif8/Session.hpp"

#include <cctype>

namespace verif8 {

namespace {
std::string canonicalId(std::string_view id) {
    std::string out;
    for (char c : id) {
        if (c != '-')
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}
}  // namespace

bool sameSessionId(std::string_view a, std::string_view b) {
    const std::string left = canonicalId(a);
    return !left.empty() && left == canonicalId(b);
}

std::string_view sessionStatusName(SessionStatus status) {
    switch (status) {
        case SessionStatus::Waiting:
            return "WAITING";
        case SessionStatus::Verified:
            return "VERIFIED";
        case SessionStatus::Failed:
            return "FAILED";
        case SessionStatus::Expired:
            return "EXPIRED";
    }
    return "UNKNOWN";
}

}  // namespace verif8
