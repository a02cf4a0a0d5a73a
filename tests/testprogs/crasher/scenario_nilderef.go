package main

import "fmt"

// Customer is left nil on one order: the worker dereferences it.
type Customer struct {
	ID       int64
	Name     string
	Tier     int
	Discount float64
}

type Order struct {
	ID       int
	Items    []LineItem
	Customer *Customer
	Total    float64
}

type LineItem struct {
	SKU   string
	Qty   int
	Price float64
}

type Job struct {
	Order *Order
	Done  chan float64
}

// Pool has one queue per worker; an order always goes to worker ID % len(workers), so the same
// worker crashes on every run.
type Pool struct {
	workers []*Worker
}

type Worker struct {
	index int
	goid  int
	jobs  chan *Job
	ready chan struct{}
}

func NewPool(n int) *Pool {
	p := &Pool{}
	for i := 0; i < n; i++ {
		w := &Worker{index: i, jobs: make(chan *Job), ready: make(chan struct{})}
		p.workers = append(p.workers, w)
		go w.run()
		<-w.ready
	}
	return p
}

func (p *Pool) Submit(j *Job) *Worker {
	w := p.workers[j.Order.ID%len(p.workers)]
	w.jobs <- j
	return w
}

//go:noinline
func (w *Worker) run() {
	w.goid = goid()
	registry.add("pool_worker", w.goid)
	close(w.ready)
	for job := range w.jobs {
		w.process(job)
	}
}

//go:noinline
func (w *Worker) process(job *Job) {
	waitParked() // let the submitting goroutine park first: the core shows it waiting
	total := job.execute()
	job.Done <- total
}

//go:noinline
func (j *Job) execute() float64 {
	return priceOrder(j.Order)
}

//go:noinline
func priceOrder(o *Order) float64 {
	sum := 0.0
	for _, it := range o.Items {
		sum += float64(it.Qty) * it.Price
	}
	o.Total = applyDiscount(o, sum)
	return o.Total
}

//go:noinline
func applyDiscount(o *Order, sum float64) float64 {
	rate := o.Customer.discountRate()
	return sum * (1 - rate)
}

// discountRate is inlined into applyDiscount in optimized builds; the nil dereference happens in it.
func (c *Customer) discountRate() float64 {
	if c.Tier > 2 {
		return c.Discount
	}
	return c.Discount / 2
}

func runNilDeref(args []string) {
	startBackground(true)
	pool := NewPool(4)

	good := &Order{ID: 41, Items: []LineItem{{"A-1", 2, 9.5}}, Customer: &Customer{ID: 1, Name: "alice", Tier: 3, Discount: 0.1}}
	j := &Job{Order: good, Done: make(chan float64)}
	pool.Submit(j)
	<-j.Done

	bad := &Order{ID: 42, Items: []LineItem{{"B-7", 1, 120}, {"C-3", 4, 2.25}}}
	waitParked()
	w := pool.workers[bad.ID%len(pool.workers)]
	printReady("nilderef", map[string]any{
		"order_id":     bad.ID,
		"order_addr":   fmt.Sprintf("%p", bad),
		"worker":       w.index,
		"worker_goid":  w.goid,
		"items":        len(bad.Items),
		"fault_offset": 24, // offsetof(Customer.Tier) on 64-bit
	})
	bj := &Job{Order: bad, Done: make(chan float64)}
	pool.Submit(bj)
	<-bj.Done
}
