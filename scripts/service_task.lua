-- The body of a service's task (the supervisor spawns it, init.lua the
-- name service): runs the service script named in the arguments under the
-- framework (service.lua, service.main: name, script, the name service's
-- raw id, a config string, a source to run instead of the script).
require("service").main(...)
