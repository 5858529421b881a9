-- A task of the network boot's case other_tasks_socket_refused
-- (cases.lua): closes a socket handle of its parent's through the
-- service's protocol, as a hostile task would, and tells its parent the
-- reply: label, code, message.
local P = require "net_proto"
local h, parent = ...
parent = l4.id(parent)
local net = require("names").lookup("net")
local _, label, code, _, msg = l4.call(net, P.CLOSE, h)
l4.send(parent, 1, label, code, msg)
