-- The dashboard's task (init.lua's plan, "httpd"): the HTTP server of
-- docs/network.md "The dashboard" on the port given (80), for ever. A
-- task of its own: it faces the network and holds no right of the root;
-- what it shows and does it asks of the root's sysinfo service.
require("dashboard").main(...)
