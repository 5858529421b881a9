-- A task the damaged-disk test spawns (tests/damaged/init.lua): its script
-- is read through the file service while the disk under it is damaged.
print("damaged-task: running")
