package main

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// checkMetrics parses a Prometheus text exposition with the parser Prometheus' own tooling uses, then checks
// what the parser leaves to the writer: histogram bounds increase, end at +Inf, and their counts are
// cumulative up to the sample count.
func checkMetrics(file string) error {
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bufioReader(content))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(families)) {
		family := families[name]
		found := len(problems)
		if family.GetType() == dto.MetricType_HISTOGRAM {
			for _, metric := range family.GetMetric() {
				if err := checkHistogram(metric.GetHistogram()); err != nil {
					problems = append(problems, fmt.Errorf("%s: %s%s: %w", file, name, labelsOf(metric), err))
				}
			}
		}
		if len(problems) == found {
			fmt.Printf("metrics %s: %s (%s, %d series) ok\n", file, name, family.GetType(), len(family.GetMetric()))
		}
	}
	return errors.Join(problems...)
}

func checkHistogram(histogram *dto.Histogram) error {
	buckets := histogram.GetBucket()
	if len(buckets) == 0 || !math.IsInf(buckets[len(buckets)-1].GetUpperBound(), 1) {
		return errors.New(`the last bucket is not le="+Inf"`)
	}
	for i, bucket := range buckets {
		if i == 0 {
			continue
		}
		below := buckets[i-1]
		if bucket.GetUpperBound() <= below.GetUpperBound() {
			return fmt.Errorf("bucket le=%g follows le=%g: bounds must increase", bucket.GetUpperBound(), below.GetUpperBound())
		}
		if bucket.GetCumulativeCount() < below.GetCumulativeCount() {
			return fmt.Errorf("bucket le=%g holds %d, fewer than the bucket below it (%d)",
				bucket.GetUpperBound(), bucket.GetCumulativeCount(), below.GetCumulativeCount())
		}
	}
	if last := buckets[len(buckets)-1].GetCumulativeCount(); last != histogram.GetSampleCount() {
		return fmt.Errorf(`bucket le="+Inf" holds %d but the count is %d`, last, histogram.GetSampleCount())
	}
	return nil
}

func labelsOf(metric *dto.Metric) string {
	text := ""
	for _, pair := range metric.GetLabel() {
		text += fmt.Sprintf(" %s=%q", pair.GetName(), pair.GetValue())
	}
	return "{" + text + " }"
}
