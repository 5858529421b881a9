-- The REPL's `help`: one line per command and per function of the `l4`
-- table, in the order and words of docs/lua-api.md and docs/runtime.md
-- (keep them in step). At run time the live `l4` table is walked: what it
-- has that is not described here is listed as undocumented.
-- Captured now: a person at the prompt may change the globals.
local ipairs, next, pairs, pcall, rawget, type = ipairs, next, pairs, pcall, rawget, type
local table = { concat = table.concat, sort = table.sort, pack = table.pack,
                unpack = table.unpack, move = table.move, remove = table.remove }

local help = {}

-- { section, { {signature, description}, ... } }; a signature starting
-- with "l4." names a function of the table, others (fp:map_item) methods.
help.sections = {
  { "Thread ids", {
    { "l4.self()", "this thread's id" },
    { "l4.id(task, lthread, version | raw)", "the thread id of those fields, or of a raw 64-bit value" },
    { "l4.irq_id(n)", "the id IRQ n speaks as (n+1)" },
    { "l4.nearest(id)", "where a message to id goes: near_id, \"same\"|\"inner\"|\"outer\"" },
    { "id.task, id.lthread, id.version", "fields of an id (also id.raw, id.irq)" },
  } },
  { "IPC", {
    { "l4.send(dest, [opts,] label, ...)", "send; waits for dest to receive -> true" },
    { "l4.reply(client, [opts,] label, ...)", "a send that does not wait -> true" },
    { "l4.call(dest, [opts,] label, ...)", "send, then receive from dest -> from, label, ..." },
    { "l4.reply_wait(client, [opts,] label, ...)", "reply, then an open receive -> from, label, ..." },
    { "l4.receive([from], [timeout | opts])", "receive (from anyone by default) -> from, label, ..." },
    { "l4.sleep([ms])", "wait ms milliseconds (for ever if nil) -> true" },
    { "l4.set_buffers(count, size)", "this thread's string receive buffers" },
    { "l4.set_window(fpage | nil)", "where received mappings land -> the old window" },
  } },
  { "Flexpages", {
    { "l4.fpage(base, log2, [rights])", "a memory flexpage of 2^log2 bytes" },
    { "l4.iofpage(port, log2)", "an I/O-port flexpage of 2^log2 ports" },
    { "l4.unmap(fp, [\"flush\"|\"readonly\"], [own])", "revoke what was mapped on from fp's pages" },
    { "fp:map_item([send_base]), fp:grant_item(...)", "a map / grant item of fp for a message" },
  } },
  { "The KIP and the clock", {
    { "l4.kip", "the kernel interface page as a table (version, memory, root, ...)" },
    { "l4.clock()", "microseconds since boot" },
  } },
  { "Threads", {
    { "l4.thread.schedule(id, [prio], [timeslice_us])", "set priority/timeslice -> the old ones, cpu_us, state" },
    { "l4.thread.switch([id])", "yield, or donate the timeslice to id" },
    { "l4.thread.create{script=|code=, args=, prio=, stack=}", "a new thread of this task running Lua -> its id" },
    { "l4.thread.kill(id)", "stop a Lua thread of this task for good" },
    { "l4.thread.status(id)", "\"running\", \"ended\", \"failed\" or \"killed\"" },
  } },
  { "Interrupts", {
    { "l4.irq.attach(n)", "attach this thread to IRQ n -> a handle" },
    { "l4.irq.wait(h | n, [timeout])", "wait until the IRQ fires -> true" },
    { "l4.irq.detach(h | n)", "detach from the IRQ" },
    { "h:wait([timeout]), h:detach(), h:line()", "the same as methods of a handle" },
  } },
  { "I/O ports", {
    { "l4.io.request(port, log2)", "ask sigma0 for 2^log2 ports -> true" },
    { "l4.io.holds(port, [count])", "whether this task holds the ports" },
    { "l4.io.inb(port)", "read a byte from a port" },
    { "l4.io.inw(port)", "read 16 bits from a port" },
    { "l4.io.inl(port)", "read 32 bits from a port" },
    { "l4.io.outb(port, value)", "write a byte to a port" },
    { "l4.io.outw(port, value)", "write 16 bits to a port" },
    { "l4.io.outl(port, value)", "write 32 bits to a port" },
  } },
  { "Physical and device memory", {
    { "l4.mem.map_phys(base, log2)", "map physical (device) memory -> an l4.mem" },
    { "l4.mem.alloc(log2)", "2^log2 bytes of zeroed RAM -> an l4.mem" },
    { "l4.mem.reserve(log2)", "address space for a receive window -> its base" },
    { "m:read8/16/32/64(off), m:write8/...(off, v)", "access an l4.mem; m:read(off, n), m:write(off, s)" },
    { "m:size(), m:base(), m:phys(), m:fpage(...), m:unmap()", "about an l4.mem" },
  } },
  { "Tasks", {
    { "l4.task.spawn{script=, args=, memcap=, prio=, mcp=}", "a task running a script of the archive -> its id" },
    { "l4.task.wait(id, [ms])", "wait until it ended -> \"exited\", status | \"failed\", message" },
    { "l4.task.delete(id)", "delete a task, or forget an ended one -> pages given back" },
    { "l4.task.info(id)", "state, pages, heap, memcap of a task" },
    { "l4.task.list()", "every task: id, name, state, pages, heap, memcap" },
    { "l4.task.stats()", "the page pool: pool, free, reserved, tasks, text_pages, data_pages" },
    { "l4.task._probe([v])", "for the tests only: a word of this task's .data" },
    { "l4.task._fault(kind)", "for the tests only: fail this task with a fault" },
  } },
  { "System (what the shell shows)", {
    { "l4.sys.threads()", "every thread: id, task, lthread, state, prio, cpu_ms" },
    { "l4.sys.irqs()", "attached interrupt lines: line, owner, count" },
    { "l4.sys.kmem()", "kernel heap bytes used, and its limit" },
    { "l4.sys.klog([pos])", "the kernel log from pos -> text, next pos" },
    { "l4.sys.release_serial(bool)", "the UART driver owns COM1 (true) or the kernel does" },
    { "l4.sys.set_console(id | nil)", "where this task's stdout and stderr go" },
    { "l4.sys.console()", "the console server's id, or nil" },
  } },
  { "Debugging", {
    { "l4.debug.raise_irq(n)", "as if IRQ n fired (root task only)" },
    { "l4.debug.rtc_irq(on)", "the RTC's periodic interrupt on or off" },
    { "l4.debug.kmem()", "frames of the kernel pool used, and its limit" },
    { "l4.debug.mdb_check()", "whether the mapping database is consistent" },
    { "l4.debug.echo()", "the id of a C echo thread (for IPC tests)" },
    { "l4.debug.fault(addr, [value], [pager])", "a C thread that faults at addr (pager tests)" },
    { "l4.debug.rdtsc()", "the time-stamp counter (benchmarks)" },
  } },
}

-- The l4 function a signature names ("l4.io.inb"), or nil for a method.
local function fname(sig)
  return sig:match("^(l4%.[%w_.]+)")
end

-- Every function of the live l4 table (and of its tables) by full name.
local function live_functions(l4)
  local found = {}
  if type(l4) ~= "table" then return nil end
  for k, v in next, l4 do
    if type(k) == "string" then
      if type(v) == "function" then
        found["l4." .. k] = true
      elseif type(v) == "table" then
        for k2, v2 in next, v do
          if type(k2) == "string" and type(v2) == "function" then
            found["l4." .. k .. "." .. k2] = true
          end
        end
      end
    end
  end
  return found
end

-- The names described here.
function help.described()
  local d = {}
  for _, sec in ipairs(help.sections) do
    for _, e in ipairs(sec[2]) do
      local n = fname(e[1])
      if n then d[n] = true end
    end
  end
  return d
end

-- Functions the live table has and this file does not describe.
function help.undocumented(l4)
  local live, d, list = live_functions(l4) or {}, help.described(), {}
  for n in pairs(live) do
    if not d[n] then list[#list + 1] = n end
  end
  table.sort(list)
  return list
end

-- "  signature   description", the description on a line of its own
-- under a long signature.
local function line(sig, desc)
  if #sig >= 34 then return "  " .. sig .. "\n" .. (" "):rep(37) .. desc end
  return "  " .. sig .. (" "):rep(35 - #sig) .. desc
end

-- The text of `help [topic]`; cmds is the commands object (its registry
-- and env).
function help.render(cmds, topic)
  local out = {}
  local list = cmds.by_name
  local l4 = rawget(cmds.env, "l4")
  if l4 == nil then
    local ok, v = pcall(function() return cmds.env.l4 end)
    l4 = ok and v or nil
  end
  local live = live_functions(l4)
  if topic == nil then
    out[#out + 1] = "Commands (or call them as functions: ps(), kill(5), reload(\"echo\"), help(\"l4.task\")):"
    for _, c in ipairs(cmds.order) do out[#out + 1] = line(c.usage, c.desc) end
    out[#out + 1] = "Lua: type a statement or an expression; =expr prints it too."
    out[#out + 1] = "The l4 table (docs/lua-api.md; help l4.task for one part):"
  end
  local shown = 0
  if topic and list[topic] then
    local c = list[topic]
    out[#out + 1] = line(c.usage, c.desc)
    shown = 1
  else
    for _, sec in ipairs(help.sections) do
      local rows = {}
      for _, e in ipairs(sec[2]) do
        local n = fname(e[1])
        local present = not n or not live or live[n] or n == "l4.kip"
        local match = topic == nil or (n and (n == topic or n:sub(1, #topic + 1) == topic .. "."))
        if present and match then rows[#rows + 1] = line(e[1], e[2]) end
      end
      if #rows > 0 then
        if topic == nil then out[#out + 1] = sec[1] .. ":" end
        table.move(rows, 1, #rows, #out + 1, out)
        shown = shown + #rows
      end
    end
    local undoc = {}
    for _, n in ipairs(help.undocumented(l4)) do
      if topic == nil or n == topic or n:sub(1, #topic + 1) == topic .. "." then
        undoc[#undoc + 1] = line(n, "(undocumented)")
      end
    end
    if #undoc > 0 then
      if topic == nil then out[#out + 1] = "Undocumented:" end
      table.move(undoc, 1, #undoc, #out + 1, out)
      shown = shown + #undoc
    end
  end
  if topic and shown == 0 then out[#out + 1] = "help: nothing on " .. topic end
  return table.concat(out, "\n") .. "\n"
end

return help
