package config_test

import (
	"fmt"
	"time"

	"github.com/apisessions/apisessions/internal/config"
)

func Example() {
	c, err := config.Parse([]byte(`
parameters:
  - {name: Login, point: request.body|json.password, group: true}
  - {name: Role, point: response.body|json.role, type: admin}
mask: [request.body|json.password]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range config.Validate(c) {
		fmt.Println(p)
	}
	fmt.Println(time.Duration(config.WithDefaults(c).Retention))
	// Output:
	// parameters[0].point: grouping key "Login" is masked by mask[0] "request.body|json.password": a masked value cannot group sessions; remove the mask rule or group: true
	// parameters[1].type: unknown type "admin": want user, role or none
	// 168h0m0s
}

func ExampleParse() {
	_, err := config.Parse([]byte("retention: 168h\nparameters:\n  - {name: a, point: request.query.a, grup: true}\n"))
	fmt.Println(err)
	// Output:
	// line 3: parameters[0].grup: unknown field
}
