module example.com/heapprog

go 1.21
