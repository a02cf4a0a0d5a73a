module example.com/syscalls

go 1.21
