module example.com/bigheap

go 1.21
