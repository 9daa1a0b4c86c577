// PamConversation: the Conversation over the application's pam_conv.
#pragma once

#include <security/pam_modules.h>

#include "verif8/Conversation.hpp"

namespace verif8 {

class PamConversation : public Conversation {
public:
    PamConversation(pam_handle_t* pamh, int flags) : pamh_(pamh), flags_(flags) {}
    std::optional<SecretString> askSecret(const std::string& prompt) override;
    void error(const std::string& text) override;
    void info(const std::string& text) override;
    bool isLoginPassword(std::string_view answer) const override;

private:
    int converse(int style, const std::string& text, SecretString* reply);

    pam_handle_t* pamh_;
    int flags_;
};

}  // namespace verif8
