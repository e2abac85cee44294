package sesapi

import (
	"net/http"
	"slices"
	"strconv"
)

// ec2NS is the EC2 2016-11-15 XML namespace.
const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// serveEC2 answers EC2 Query requests. Only DescribeRegions exists: it is
// how the seeds' audit script (and `sesame audit --regions all`) learns the
// regions to walk.
func (s *Server) serveEC2(w http.ResponseWriter, c *call) (int, string) {
	if c.op != "DescribeRegions" {
		action := c.op
		c.op = "unknown"
		return s.fail(w, c, apiErr(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action))
	}
	regions, err := s.describeRegions(c)
	if err != nil {
		return s.fail(w, c, err)
	}
	var x xmlw
	x.openNS("DescribeRegionsResponse", ec2NS)
	x.elem("requestId", c.reqID)
	x.open("regionInfo")
	for _, r := range regions {
		x.open("item")
		x.elem("regionName", r)
		x.elem("regionEndpoint", c.r.Host)
		x.elem("optInStatus", "opt-in-not-required")
		x.close("item")
	}
	x.close("regionInfo")
	x.close("DescribeRegionsResponse")
	writeXML(w, http.StatusOK, x.b.Bytes())
	return http.StatusOK, "OK"
}

// describeRegions applies RegionName.N and the region-name filter (EC2
// lists are flat: Filter.1.Name, Filter.1.Value.1). Every configured region
// is opted in, so AllRegions changes nothing.
func (s *Server) describeRegions(c *call) ([]string, error) {
	names := flatList(c, "RegionName.")
	for i := 1; ; i++ {
		p := "Filter." + strconv.Itoa(i) + "."
		name := c.form.Get(p + "Name")
		if name == "" {
			break
		}
		vals := flatList(c, p+"Value.")
		switch name {
		case "region-name":
			names = append(names, vals...)
		case "opt-in-status":
			if !slices.Contains(vals, "opt-in-not-required") {
				return nil, nil
			}
		default:
			e := apiErr(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid.", name)
			return nil, e
		}
	}
	if len(names) == 0 {
		return s.cfg.Regions, nil
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(s.cfg.Regions, n) {
			e := apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid region: %s", n)
			return nil, e
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// flatList returns prefix1, prefix2, … until the first absent index.
func flatList(c *call, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.form[prefix+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}
