module dwarfprog

go 1.21
