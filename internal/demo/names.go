package demo

// Vocabulary of the generated traffic.
var (
	firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
		"judy", "karl", "laura", "mike", "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent",
		"ursula", "victor", "wendy", "xavier", "yara", "zoe"}

	searchTerms = []string{"coffee", "headphones", "running+shoes", "laptop", "kettle", "backpack",
		"desk+lamp", "yoga+mat", "tent", "watch", "espresso", "keyboard"}

	productNames = []string{"Espresso Beans 1kg", "Noise Cancelling Headphones", "Trail Running Shoes",
		"13in Ultrabook", "Electric Kettle", "Daypack 24L", "LED Desk Lamp", "Yoga Mat",
		"Two-Person Tent", "Field Watch", "Mechanical Keyboard", "Pour-Over Set"}

	browserAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
	}

	appAgents = []string{
		"ShopApp/3.4.1 (iPhone; iOS 18.1; Scale/3.00)",
		"ShopApp/3.4.0 (Android 14; Pixel 8)",
		"okhttp/4.12.0",
	}

	scannerAgents = []string{
		"sqlmap/1.8.11#stable (https://sqlmap.org)",
		"Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000562)",
		"python-requests/2.32.3",
	}

	// natIPs are addresses many users share (an office, a carrier NAT).
	natIPs = []string{"198.51.100.23", "198.51.100.77"}

	// publicOctets are first octets of the client addresses, for variety.
	publicOctets = []int{31, 37, 46, 62, 77, 81, 85, 91, 94, 109, 176, 178, 185, 188, 193, 212, 217}
)
