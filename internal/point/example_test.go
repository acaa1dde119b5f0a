package point_test

import (
	"fmt"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/point"
)

func Example() {
	ex := &apisessions.Exchange{
		ClientIP: "203.0.113.7",
		Request: apisessions.Request{
			Method:  "POST",
			URL:     "https://shop.example.com/api/login?next=%2F",
			Headers: apisessions.Headers{{Name: "Content-Type", Value: "application/json"}},
			Body:    []byte(`{"username":"alice","password":"s3cret"}`),
		},
		Response: &apisessions.Response{
			Status:  200,
			Headers: apisessions.Headers{{Name: "Set-Cookie", Value: "PHPSESSID=ab12; Path=/"}},
		},
	}
	user := point.MustParse("request.body|json.username")
	session := point.MustParse("response.cookie.PHPSESSID")

	e := point.NewEvaluator(point.DefaultLimits())
	e.Reset(ex)
	u, _ := e.First(user)
	s, _ := e.First(session)
	fmt.Println(u, s)

	if _, err := point.Parse("request.body|json.user."); err != nil {
		fmt.Println(err)
	}
	// Output:
	// alice ab12
	// column 24: expected a name after '.'
}

func ExampleList() {
	ex := &apisessions.Exchange{
		Request: apisessions.Request{
			Method:  "GET",
			URL:     "/api/users/42?page=2",
			Headers: apisessions.Headers{{Name: "Cookie", Value: "connect.sid=s1"}},
		},
	}
	point.List(ex, point.DefaultLimits(), func(p, value string) bool {
		fmt.Printf("%s = %s\n", p, value)
		return true
	})
	// Output:
	// request.method = GET
	// request.path = /api/users/42
	// request.path[0] = api
	// request.path[1] = users
	// request.path[2] = 42
	// request.url = /api/users/42?page=2
	// request.query.page = 2
	// request.header.Cookie = connect.sid=s1
	// request.cookie["connect.sid"] = s1
}
