// Config: region hosts and the effective base URL.
#include "verif8/Config.hpp"

namespace verif8 {

std::string regionBaseUrl(Region region) {
    switch (region) {
        case Region::Us:
            return "https://verify.us.8x8.com";
        case Region::Europe:
            return "https://verify.8x8.uk";
        case Region::Indonesia:
            return "https://verify.8x8.id";
        case Region::Asia:
            break;
    }
    return "https://verify.8x8.com";
}

std::vector<std::string> Config::baseUrls() const {
    if (apiUrls.empty())
        return {regionBaseUrl(region)};
    return apiUrls;
}

}  // namespace verif8
