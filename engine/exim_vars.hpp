// Exim's expansion variables that a filter may name and that do not depend
// on the message: the time of day, the process, and the many variables of
// Exim's ACLs, routers, TLS, DKIM … that a filter sees empty or at a fixed
// value (as `exim -bf` prints them, Exim 4.96). A filter written for Exim
// that names one of them must run here too, not fail with "unknown variable
// name" (which defers its mail). engine/filter_message.cpp answers the
// message's own variables and asks here for the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nougat::engine {

// $tod_*, $pid, $caller_uid …, $load_average, $compile_date, and the fixed
// ones; nullopt for a name Exim does not know either. `now`: unix time.
std::optional<std::string> exim_variable(std::string_view name, int64_t now);

// A message id in Exim's form ("1xXOUi-0004P8-22": the time, the process
// and the sub-second in base 62), for a message that has no queue id (a
// filter test).
std::string made_up_message_id();

}  // namespace nougat::engine
