nestlab multiboot test module
The loader puts this file in memory and lists it in mods_addr.
0123456789abcdef
