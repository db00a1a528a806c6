;; The two loops that are most of the wide & deep trainer's time, in WebAssembly with 128-bit SIMD
;; (two f64 lanes). Source of dense-kernels.wasm, which is committed beside it and checked against this
;; file by dense-kernels.test.ts (`npm run build:kernels` rebuilds it with the wabt package).
;;
;; Both compute exactly what the plain JavaScript loops in dense-kernels.test.ts compute, bit for bit:
;; f64 arithmetic only, no fused multiply-add, and every sum taken in the same order. The dot product
;; keeps four partial sums (element i goes to sum i mod 4, the remainder to sum 0, then
;; s0 + s1 + s2 + s3 + bias) — two SIMD registers hold them, (s0, s1) and (s2, s3).
;;
;; All pointers are byte offsets into the exported memory, which the caller lays out (dense-kernels.ts).
(module
  (memory (export "memory") 1)

  ;; out[k·H + h] = (((s0 + s1) + s2) + s3) + b1[h], the dot product of x[k·IN …] and w1[h·IN …],
  ;; for k < n and h < H: the first layer's pre-activations for n tokens, weight row by weight row.
  (func (export "firstLayer")
    (param $x i32) (param $n i32) (param $in i32) (param $w1 i32) (param $b1 i32) (param $H i32) (param $out i32)
    (local $h i32) (local $k i32) (local $i i32) (local $row i32) (local $xo i32) (local $body i32)
    (local $s01 v128) (local $s23 v128) (local $s0 f64) (local $bias f64)
    ;; $body: the elements summed four at a time (the largest multiple of 4 not above IN).
    (local.set $body (i32.and (local.get $in) (i32.const -4)))
    (local.set $h (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $row (i32.add (local.get $w1) (i32.shl (i32.mul (local.get $h) (local.get $in)) (i32.const 3))))
        (local.set $bias (f64.load (i32.add (local.get $b1) (i32.shl (local.get $h) (i32.const 3)))))
        (local.set $k (i32.const 0))
        (block $tokens_done
          (loop $tokens
            (br_if $tokens_done (i32.ge_u (local.get $k) (local.get $n)))
            (local.set $xo (i32.add (local.get $x) (i32.shl (i32.mul (local.get $k) (local.get $in)) (i32.const 3))))
            (local.set $s01 (v128.const f64x2 0 0))
            (local.set $s23 (v128.const f64x2 0 0))
            (local.set $i (i32.const 0))
            (block $body_done
              (loop $body_loop
                (br_if $body_done (i32.ge_u (local.get $i) (local.get $body)))
                (local.set $s01
                  (f64x2.add (local.get $s01)
                    (f64x2.mul
                      (v128.load (i32.add (local.get $xo) (i32.shl (local.get $i) (i32.const 3))))
                      (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 3)))))))
                (local.set $s23
                  (f64x2.add (local.get $s23)
                    (f64x2.mul
                      (v128.load offset=16 (i32.add (local.get $xo) (i32.shl (local.get $i) (i32.const 3))))
                      (v128.load offset=16 (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 3)))))))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $body_loop)))
            ;; The remainder goes to s0.
            (local.set $s0 (f64x2.extract_lane 0 (local.get $s01)))
            (block $tail_done
              (loop $tail
                (br_if $tail_done (i32.ge_u (local.get $i) (local.get $in)))
                (local.set $s0
                  (f64.add (local.get $s0)
                    (f64.mul
                      (f64.load (i32.add (local.get $xo) (i32.shl (local.get $i) (i32.const 3))))
                      (f64.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 3)))))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $tail)))
            (f64.store
              (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $H)) (local.get $h)) (i32.const 3)))
              (f64.add
                (f64.add
                  (f64.add
                    (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $s01)))
                    (f64x2.extract_lane 0 (local.get $s23)))
                  (f64x2.extract_lane 1 (local.get $s23)))
                (local.get $bias)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $tokens)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $rows))))

  ;; w1[h·IN + i] += (lr · dh[j·H + h]) · x[j·IN + i] for h < H, then j < count in order, i < IN:
  ;; the first layer's rank-one SGD steps of `count` tokens, weight row by weight row. A zero gradient
  ;; (an inactive hidden unit) is skipped.
  (func (export "rankOneSteps")
    (param $w1 i32) (param $in i32) (param $H i32) (param $x i32) (param $dh i32) (param $count i32) (param $lr f64)
    (local $h i32) (local $j i32) (local $i i32) (local $row i32) (local $xo i32) (local $pair i32)
    (local $g f64) (local $c f64) (local $cc v128) (local $at i32)
    ;; $pair: the elements stepped two at a time (the largest even number not above IN).
    (local.set $pair (i32.and (local.get $in) (i32.const -2)))
    (local.set $h (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $row (i32.add (local.get $w1) (i32.shl (i32.mul (local.get $h) (local.get $in)) (i32.const 3))))
        (local.set $j (i32.const 0))
        (block $tokens_done
          (loop $tokens
            (br_if $tokens_done (i32.ge_u (local.get $j) (local.get $count)))
            (local.set $g (f64.load (i32.add (local.get $dh) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $H)) (local.get $h)) (i32.const 3)))))
            (if (f64.ne (local.get $g) (f64.const 0))
              (then
                (local.set $c (f64.mul (local.get $lr) (local.get $g)))
                (local.set $cc (f64x2.splat (local.get $c)))
                (local.set $xo (i32.add (local.get $x) (i32.shl (i32.mul (local.get $j) (local.get $in)) (i32.const 3))))
                (local.set $i (i32.const 0))
                (block $pairs_done
                  (loop $pairs
                    (br_if $pairs_done (i32.ge_u (local.get $i) (local.get $pair)))
                    (local.set $at (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 3))))
                    (v128.store (local.get $at)
                      (f64x2.add (v128.load (local.get $at))
                        (f64x2.mul (local.get $cc) (v128.load (i32.add (local.get $xo) (i32.shl (local.get $i) (i32.const 3)))))))
                    (local.set $i (i32.add (local.get $i) (i32.const 2)))
                    (br $pairs)))
                (if (i32.lt_u (local.get $i) (local.get $in))
                  (then
                    (local.set $at (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 3))))
                    (f64.store (local.get $at)
                      (f64.add (f64.load (local.get $at))
                        (f64.mul (local.get $c) (f64.load (i32.add (local.get $xo) (i32.shl (local.get $i) (i32.const 3)))))))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tokens)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $rows))))
)
