module example.com/tuihostile

go 1.21
