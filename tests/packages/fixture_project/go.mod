module example.com/fixture

go 1.22

require golang.org/x/text v0.3.7

require (
	github.com/pkg/errors v0.9.1 // indirect
)
