!> The built-in kernels through the executor's type-bound procedures, in
!> real32 and real64: axpy, dot, nrm2 and gemm (every combination of 'N' and
!> 'T', lower case and 'C' too, padded leading dimensions, an element offset)
!> on random data, checked element by element against Fortran's intrinsics
!> (matmul, dot_product, norm2) evaluated in real128; the other procedures
!> (fill, copy, scale, add, mul, sum, amax) once each; and errors reported
!> through stat/errmsg: bad transposes, a bad kind, negative sizes, an
!> operand out of range, an uncreated executor. Then the 16-bit types:
!> convert on values whose binary16 and bfloat16 encodings are known, and
!> gemm16 answering GPUASYNC_UNSUPPORTED where cooperative_matrix says no.
!>
!> Tolerances are the algorithms' a-priori error bounds (u: unit roundoff of
!> the element type), given where they are checked; the real128 reference
!> adds at most 2^-112 relative, far below any of them.
program test_builtin
    use gpuasync
    use gpuasync_test_support
    use, intrinsic :: iso_fortran_env, only: real32, real64, real128, int32, int64
    implicit none

    type(gpuasync_executor) :: ex
    type(c_gpuasync_device_info) :: info
    integer :: kinds(2), i

    call new_executor(ex)
    call ex%device_info(info)
    kinds = [real32, real64]
    do i = 1, 2
        if (kinds(i) == real64 .and. info%float64 /= 1) then
            print '(a)', 'skip real64: the device has no float64'
            cycle
        end if
        call level1(kinds(i), 1)
        call level1(kinds(i), 1000)
        call level1(kinds(i), 300007)
        call gemm_cases(kinds(i))
    end do
    call errors()
    call sixteen_bit()
    call finish_executor(ex)
    call finish('test_builtin')

contains

    !> Unit roundoff of a real kind.
    pure real(real64) function unit_roundoff(kind)
        integer, intent(in) :: kind

        if (kind == real32) then
            unit_roundoff = real(epsilon(1.0_real32), real64) / 2
        else
            unit_roundoff = epsilon(1.0_real64) / 2
        end if
    end function unit_roundoff

    function kind_name(kind) result(name)
        integer, intent(in) :: kind
        character(len=6) :: name

        name = merge('real32', 'real64', kind == real32)
    end function kind_name

    !> Random values, exactly representable in `kind`, held as real64.
    subroutine random_values(v, kind)
        real(real64), intent(out) :: v(:)
        integer, intent(in) :: kind

        call random_reals(v)
        if (kind == real32) v = real(real(v, real32), real64)
    end subroutine random_values

    !> A buffer of `kind` elements holding `v`.
    subroutine upload(b, v, kind)
        type(gpuasync_buffer), intent(inout) :: b
        real(real64), intent(in) :: v(:)
        integer, intent(in) :: kind

        if (kind == real32) then
            call b%create(ex, real(v, real32))
        else
            call b%create(ex, v)
        end if
    end subroutine upload

    !> The first size(v) elements of the buffer, as real64, once they landed.
    subroutine download(b, v, kind)
        type(gpuasync_buffer), intent(in) :: b
        real(real64), intent(out) :: v(:)
        integer, intent(in) :: kind
        real(real32), allocatable, asynchronous :: v32(:)
        real(real64), allocatable, asynchronous :: v64(:)
        integer(int64) :: ticket

        if (kind == real32) then
            allocate (v32(size(v)))
            call b%read(v32, ticket)
            call ex%wait(ticket)
            v = real(v32, real64)
        else
            allocate (v64(size(v)))
            call b%read(v64, ticket)
            call ex%wait(ticket)
            v = v64
        end if
    end subroutine download

    !> Whether two arrays hold the same values (no NaN here).
    pure logical function same(a, b)
        real(real64), intent(in) :: a(:), b(:)

        same = .not. any(abs(a - b) > 0)
    end function same

    !> A bound on the longest chain of additions in the reductions
    !> (spirv/reduce.comp): at most max(4, ceil(n / 2^18)) + 4 elements per
    !> thread (grid-stride, 4-wide loads, a tail), two additions each for a
    !> dot, then two workgroup trees of 8 levels and at most 4 merges per
    !> thread in the second pass. Generous: it only enters second-order terms.
    pure real(real64) function chain_length(n)
        integer, intent(in) :: n

        chain_length = real(2 * (max(4, (n + 262143) / 262144) + 4) + 22, real64)
    end function chain_length

    !> y = alpha x + y, dot(x, y) and norm2(x) on n random elements, with
    !> element offsets; then fill, copy, scale, add, mul, sum and amax.
    subroutine level1(kind, n)
        integer, intent(in) :: kind, n
        integer, parameter :: ox = 3, oy = 1, at = 2
        real(real64), allocatable :: x(:), y(:), got(:), r(:), r0(:)
        real(real128), allocatable :: qx(:), qy(:)
        real(real128) :: want, terms
        real(real64) :: alpha, u, tol
        type(gpuasync_buffer) :: xb, yb, rb
        integer(int64) :: ticket
        integer :: i, bad
        character(len=64) :: label

        write (label, '(a, a, i0)') kind_name(kind), ', n = ', n
        u = unit_roundoff(kind)
        allocate (x(ox + n + 1), y(oy + n + 1), got(oy + n + 1), r0(4), r(4), qx(n), qy(n))
        call random_values(x, kind)
        call random_values(y, kind)
        call random_values(r0, kind)
        qx = real(x(ox + 1:ox + n), real128)
        qy = real(y(oy + 1:oy + n), real128)
        alpha = -1.375_real64
        call upload(xb, x, kind)
        call upload(yb, y, kind)
        call upload(rb, r0, kind)

        ! axpy: at most two roundings (alpha*x, then + y; or one fma):
        ! |error| <= 2u (|alpha x| + |y|).
        if (kind == real32) then
            call ex%axpy(n, real(alpha, real32), xb, yb, ticket, x_offset=ox, y_offset=oy)
        else
            call ex%axpy(n, alpha, xb, yb, ticket, x_offset=ox, y_offset=oy)
        end if
        call check(ticket > 0, trim(label) // ': axpy returns a ticket')
        call download(yb, got, kind)
        bad = 0
        do i = 1, n
            want = alpha * qx(i) + qy(i)
            tol = 2.02_real64 * u * real(abs(alpha * qx(i)) + abs(qy(i)), real64)
            if (abs(got(oy + i) - want) > tol) bad = bad + 1
        end do
        call check(bad == 0 .and. same(got(1:oy), y(1:oy)) .and. same(got(oy + n + 1:), y(oy + n + 1:)), &
            trim(label) // ': axpy: every element within 2u(|alpha x| + |y|), nothing else changed')
        y(oy + 1:oy + n) = got(oy + 1:oy + n)
        qy = real(y(oy + 1:oy + n), real128)

        ! dot: Dot2, about one rounding of the exact value: u|s| + 2(Lu)^2
        ! sum|x y|, plus u sum|x y| in case the products' rounding errors are
        ! lost (an fma-based TwoProduct where fma() rounds twice, as Vulkan
        ! allows and lavapipe does).
        call ex%dot(n, xb, yb, rb, ticket, kind=kind, x_offset=ox, y_offset=oy, result_offset=at)
        call download(rb, r, kind)
        want = dot_product(qx, qy)
        terms = sum(abs(qx * qy))
        tol = u * real(abs(want), real64) + (u + 2 * (chain_length(n) * u)**2) * real(terms, real64)
        call check(abs(r(at + 1) - want) <= tol .and. same(r([1, 2, 4]), r0([1, 2, 4])), &
            trim(label) // ': dot within u|s| + (u + 2(Lu)^2) sum|x y| of dot_product in real128')

        ! nrm2: Blue's sum of squares (positive terms, relative error gamma_L),
        ! halved by the square root, plus its and the scaling's roundings.
        call ex%nrm2(n, xb, rb, ticket, kind=kind, x_offset=ox, result_offset=at)
        call download(rb, r, kind)
        want = norm2(qx)
        call check(abs(r(at + 1) - want) <= (chain_length(n) + 3) * u * real(want, real64), &
            trim(label) // ': nrm2 within (L + 3)u of norm2 in real128')

        ! sum: Sum2, u|s| + 2(Lu)^2 sum|x|.
        call ex%sum(n, xb, rb, ticket, kind=kind, x_offset=ox, result_offset=at)
        call download(rb, r, kind)
        want = sum(qx)
        tol = u * real(abs(want), real64) + 2 * (chain_length(n) * u)**2 * real(sum(abs(qx)), real64)
        call check(abs(r(at + 1) - want) <= tol, trim(label) // ': sum within u|s| + 2(Lu)^2 sum|x|')

        ! amax: exact.
        call ex%amax(n, xb, rb, ticket, kind=kind, x_offset=ox, result_offset=at)
        call download(rb, r, kind)
        call check(abs(r(at + 1) - maxval(abs(x(ox + 1:ox + n)))) <= 0, trim(label) // ': amax exact')

        ! fill, copy, scale (in place), add, mul into y: fill and copy are
        ! exact; scale, add and mul round once (|error| <= u|exact|).
        if (kind == real32) then
            call ex%fill(n, 0.625_real32, yb, ticket, x_offset=oy)
        else
            call ex%fill(n, 0.625_real64, yb, ticket, x_offset=oy)
        end if
        call download(yb, got, kind)
        call check(.not. any(abs(got(oy + 1:oy + n) - 0.625_real64) > 0) .and. same(got(1:oy), y(1:oy)), &
            trim(label) // ': fill exact')
        call ex%copy(n, xb, yb, ticket, kind=kind, x_offset=ox, y_offset=oy)
        call download(yb, got, kind)
        call check(same(got(oy + 1:oy + n), x(ox + 1:ox + n)), trim(label) // ': copy exact')
        if (kind == real32) then
            call ex%scale(n, -0.75_real32, yb, ticket, x_offset=oy)
        else
            call ex%scale(n, -0.75_real64, yb, ticket, x_offset=oy)
        end if
        call download(yb, got, kind)
        call check(.not. any(abs(got(oy + 1:oy + n) - (-0.75_real128) * qx) > 1.01_real64 * u * abs(0.75_real128 * qx)), &
            trim(label) // ': scale in place within u')
        ! Now y holds -0.75 x; z = x + y and x * y, written over the result buffer's copy.
        call check_binary(kind, n, xb, ox, yb, oy, x(ox + 1:ox + n), got(oy + 1:oy + n), label)
        call xb%destroy()
        call yb%destroy()
        call rb%destroy()
    end subroutine level1

    !> add and mul of x and y into a new buffer z (offset 0).
    subroutine check_binary(kind, n, xb, ox, yb, oy, x, y, label)
        integer, intent(in) :: kind, n, ox, oy
        type(gpuasync_buffer), intent(in) :: xb, yb
        real(real64), intent(in) :: x(:), y(:)
        character(len=*), intent(in) :: label
        type(gpuasync_buffer) :: zb
        real(real64), allocatable :: z(:)
        real(real128), allocatable :: want(:)
        real(real64) :: u
        integer(int64) :: ticket

        u = unit_roundoff(kind)
        allocate (z(n), want(n))
        call random_values(z, kind)
        call upload(zb, z, kind)
        call ex%add(n, xb, yb, zb, ticket, kind=kind, x_offset=ox, y_offset=oy)
        call download(zb, z, kind)
        want = real(x, real128) + real(y, real128)
        call check(.not. any(abs(z - want) > 1.01_real64 * u * abs(want)), trim(label) // ': add within u')
        call ex%mul(n, xb, yb, zb, ticket, kind=kind, x_offset=ox, y_offset=oy, z_offset=0)
        call download(zb, z, kind)
        want = real(x, real128) * real(y, real128)
        call check(.not. any(abs(z - want) > 1.01_real64 * u * abs(want)), trim(label) // ': mul within u')
        call zb%destroy()
    end subroutine check_binary

    !> GEMM over every combination of transposes and a few shapes.
    subroutine gemm_cases(kind)
        integer, intent(in) :: kind
        character(len=1), parameter :: trans(2) = ['N', 'T']
        integer :: ia, ib

        do ia = 1, 2
            do ib = 1, 2
                call check_gemm(kind, trans(ia), trans(ib), 67, 45, 33, 1.5_real64, 0.5_real64, 0, 0)
                call check_gemm(kind, trans(ia), trans(ib), 100, 100, 100, -0.75_real64, 1.25_real64, 3, 5)
                call check_gemm(kind, trans(ia), trans(ib), 1, 37, 5, 2.0_real64, 0.0_real64, 1, 0)
            end do
        end do
        ! Case does not matter; 'C' (conjugate transpose) is 'T' for real matrices.
        call check_gemm(kind, 'n', 't', 19, 23, 29, 1.0_real64, -1.0_real64, 0, 0)
        call check_gemm(kind, 'C', 'c', 19, 23, 29, 1.0_real64, -1.0_real64, 0, 2)
    end subroutine gemm_cases

    !> C = alpha op(A) op(B) + beta C with leading dimensions padded by `pad`
    !> rows and C from element `c_offset` of its buffer; every element
    !> checked, the padding and the elements before C unchanged.
    subroutine check_gemm(kind, transa, transb, m, n, k, alpha, beta, pad, c_offset)
        integer, intent(in) :: kind, m, n, k, pad, c_offset
        character(len=1), intent(in) :: transa, transb
        real(real64), intent(in) :: alpha, beta
        real(real64), allocatable :: a(:, :), b(:, :), c(:, :), flat(:), got(:), cout(:, :)
        real(real128), allocatable :: qa(:, :), qb(:, :), want(:, :), magnitude(:, :)
        type(gpuasync_buffer) :: ab, bb, cb
        logical :: ta, tb
        integer :: rows_a, cols_a, rows_b, cols_b, lda, ldb, ldc, bad
        integer(int64) :: ticket
        real(real64) :: u
        character(len=128) :: label

        ta = scan(transa, 'TtCc') > 0
        tb = scan(transb, 'TtCc') > 0
        rows_a = merge(k, m, ta)
        cols_a = merge(m, k, ta)
        rows_b = merge(n, k, tb)
        cols_b = merge(k, n, tb)
        lda = rows_a + pad
        ldb = rows_b + pad
        ldc = m + pad
        allocate (a(lda, cols_a), b(ldb, cols_b), c(ldc, n))
        allocate (flat(max(size(a), size(b), size(c)) + c_offset))
        call random_values(flat, kind)
        a = reshape(flat(1:size(a)), shape(a))
        call random_values(flat, kind)
        b = reshape(flat(1:size(b)), shape(b))
        call random_values(flat, kind)
        c = reshape(flat(c_offset + 1:c_offset + size(c)), shape(c))
        call upload(ab, reshape(a, [size(a)]), kind)
        call upload(bb, reshape(b, [size(b)]), kind)
        call upload(cb, flat(1:c_offset + size(c)), kind)
        if (kind == real32) then
            call ex%gemm(transa, transb, m, n, k, real(alpha, real32), ab, lda, bb, ldb, real(beta, real32), &
                cb, ldc, ticket, c_offset=c_offset)
        else
            call ex%gemm(transa, transb, m, n, k, alpha, ab, lda, bb, ldb, beta, cb, ldc, ticket, c_offset=c_offset)
        end if
        allocate (got(c_offset + size(c)), cout(ldc, n), qa(m, k), qb(k, n), want(m, n), magnitude(m, n))
        call download(cb, got, kind)
        cout = reshape(got(c_offset + 1:), shape(c))

        if (ta) then
            qa = transpose(real(a(1:rows_a, 1:cols_a), real128))
        else
            qa = real(a(1:rows_a, 1:cols_a), real128)
        end if
        if (tb) then
            qb = transpose(real(b(1:rows_b, 1:cols_b), real128))
        else
            qb = real(b(1:rows_b, 1:cols_b), real128)
        end if
        ! Each element is a dot product of length k, scaled, plus beta c: its
        ! error is at most gamma_{k+2} (|alpha| |A||B| + |beta c|) in any
        ! order, with or without fma; (k + 4)u bounds gamma_{k+2}, 1u more
        ! leaves room. alpha and beta are exact in real32.
        want = alpha * matmul(qa, qb) + beta * real(c(1:m, :), real128)
        magnitude = abs(alpha) * matmul(abs(qa), abs(qb)) + abs(beta) * abs(real(c(1:m, :), real128))
        u = unit_roundoff(kind)
        bad = count(abs(cout(1:m, :) - want) > (k + 5) * u * magnitude)
        write (label, '(a, a, 4a, 3(a, i0), a, i0, a, i0)') kind_name(kind), ' gemm ', "'", transa, transb, "'", &
            ' m=', m, ' n=', n, ' k=', k, ' pad=', pad, ' c_offset=', c_offset
        call check(bad == 0, trim(label) // ': every element of C within (k+5)u of matmul in real128')
        call check(same(reshape(cout(m + 1:, :), [pad * n]), reshape(c(m + 1:, :), [pad * n])) .and. &
            same(got(1:c_offset), flat(1:c_offset)), trim(label) // ': padding and elements before C unchanged')
        call ab%destroy()
        call bb%destroy()
        call cb%destroy()
    end subroutine check_gemm

    !> Errors through stat/errmsg; nothing is submitted, the ticket stays 0.
    subroutine errors()
        type(gpuasync_buffer) :: xb, yb
        type(gpuasync_executor) :: uncreated
        real(real64) :: v(10)
        integer(int64) :: ticket
        integer :: stat
        character(len=512) :: errmsg

        call random_reals(v)
        call xb%create(ex, v)
        call yb%create(ex, v)
        ticket = 99
        call ex%gemm('X', 'N', 2, 2, 2, 1.0_real64, xb, 2, yb, 2, 0.0_real64, yb, 2, ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, "gemm with transa = 'X'")
        call check(ticket == 0, '  no ticket')
        call ex%dot(10, xb, yb, xb, ticket, kind=3, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'dot with kind=3')
        call ex%axpy(-1, 2.0_real64, xb, yb, ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'axpy with n = -1')
        call ex%axpy(10, 2.0_real64, xb, yb, ticket, x_offset=1, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'axpy of 10 elements from element 1 of 10')
        call ex%gemm('N', 'N', 4, 4, 4, 1.0_real64, xb, 4, yb, 4, 0.0_real64, yb, 4, ticket, stat=stat, &
            errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'gemm of 4 x 4 matrices in 10-element buffers')
        call ex%gemm('N', 'N', 3, 3, 3, 1.0_real64, xb, 2, yb, 3, 0.0_real64, yb, 3, ticket, stat=stat, &
            errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'gemm with lda = 2 < m = 3')
        call ex%nrm2(10, xb, xb, ticket, kind=real64, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'nrm2 whose result overlaps its input')
        call uncreated%sum(10, xb, yb, ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'sum on an uncreated executor')
        call check(ticket == 0, '  no ticket after any of them')
        call xb%destroy()
        call yb%destroy()
    end subroutine errors

    !> `convert` to binary16 and bfloat16, read back as 32-bit words (two
    !> values each, the first in the low half): 1, -2, 65504 (the largest
    !> binary16; bfloat16 rounds it up to 65536) and 0.1 (rounded in both).
    subroutine sixteen_bit()
        type(gpuasync_buffer) :: xb, hb, cb
        real(real32) :: x(4), c(4), back(4), want_back(4, 2)
        integer(int32) :: words(2), want(4, 2)
        integer(int64) :: ticket
        integer :: stat, t, i, got, types(2)
        character(len=512) :: errmsg

        errmsg = ''
        x = [1.0_real32, -2.0_real32, 65504.0_real32, 0.1_real32]
        want(:, 1) = [int(z'3C00'), int(z'C000'), int(z'7BFF'), int(z'2E66')]
        want(:, 2) = [int(z'3F80'), int(z'C000'), int(z'4780'), int(z'3DCD')]
        types = [GPUASYNC_F16, GPUASYNC_BF16]
        ! widen gives the rounded values back exactly (0.1 is 1638 / 2^14 in
        ! binary16 and 205 / 2^11 in bfloat16; 65504 rounds up to 2^16 in bfloat16).
        want_back(:, 1) = [1.0_real32, -2.0_real32, 65504.0_real32, 1638.0_real32 / 16384]
        want_back(:, 2) = [1.0_real32, -2.0_real32, 65536.0_real32, 205.0_real32 / 2048]
        call xb%create(ex, x)
        call hb%create(ex, 8_int64)
        c = 0
        call cb%create(ex, c)
        do t = 1, 2
            call ex%convert(4, xb, hb, ticket, type=types(t), stat=stat, errmsg=errmsg)
            call check_status(stat, errmsg, GPUASYNC_OK, 'convert to 16 bits')
            call hb%read(words, ticket)
            call ex%wait(ticket)
            do i = 1, 4
                got = ibits(words(merge(1, 2, i <= 2)), 16 * mod(i - 1, 2), 16)
                call check(got == want(i, t), '  element ' // char(ichar('0') + i) // ' has its 16-bit encoding')
            end do
            call ex%widen(4, hb, cb, ticket, type=types(t), stat=stat, errmsg=errmsg)
            call check_status(stat, errmsg, GPUASYNC_OK, 'widen back to real32')
            call cb%read(back, ticket)
            call ex%wait(ticket)
            call check(all(transfer(back, 0_int32, 4) == transfer(want_back(:, t), 0_int32, 4)), &
                '  widen gives the rounded values exactly (bit for bit)')
            if (.not. ex%cooperative_matrix(types(t))) then
                call ex%gemm16('N', 'N', 2, 2, 2, 1.0_real32, hb, 2, hb, 2, 0.0_real32, cb, 2, ticket, &
                    type=types(t), stat=stat, errmsg=errmsg)
                call check_status(stat, errmsg, GPUASYNC_UNSUPPORTED, 'gemm16 without cooperative matrices')
            end if
        end do
        call check(.not. ex%cooperative_matrix(GPUASYNC_F32), 'cooperative_matrix(GPUASYNC_F32) is false')
        call ex%convert(4, xb, hb, ticket, type=GPUASYNC_F32, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'convert to real32')
        call xb%destroy()
        call hb%destroy()
        call cb%destroy()
    end subroutine sixteen_bit
end program test_builtin
