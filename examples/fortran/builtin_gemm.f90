!> A built-in kernel from Fortran: C = A B on the GPU with `ex%gemm` (the
!> arguments of BLAS sgemm; no kernel to write), while the CPU computes the
!> same product in real64, a column at a time, polling the GPU between
!> columns. The two are then compared through one norm.
!> Usage: builtin_gemm [n]   (default 256)
program builtin_gemm
    use gpuasync
    use, intrinsic :: iso_fortran_env, only: real32, real64, int64
    implicit none

    integer :: n, j, columns_while_busy
    character(len=32) :: argument
    real(real32), allocatable :: a(:, :), b(:, :)
    real(real32), allocatable, asynchronous :: c(:, :)   ! filled by a pending read
    real(real64), allocatable :: a64(:, :), reference(:, :)
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: a_gpu, b_gpu, c_gpu
    integer(int64) :: ticket
    logical :: done
    real(real64) :: difference

    n = 256
    if (command_argument_count() >= 1) then
        call get_command_argument(1, argument)
        read (argument, *) n
    end if
    allocate (a(n, n), b(n, n), c(n, n), reference(n, n))
    call random_number(a)
    call random_number(b)
    a = a - 0.5
    b = b - 0.5

    call ex%create()                               ! best device; lavapipe if no GPU
    call a_gpu%create(ex, a)                       ! sized from a, filled with it
    call b_gpu%create(ex, b)
    call c_gpu%create(ex, 4_int64 * n * n)         ! bytes; with beta = 0, C is never read
    ! C = 1.0 * A B + 0.0 * C; real32 alpha and beta select real32 elements.
    call ex%gemm('N', 'N', n, n, n, 1.0, a_gpu, n, b_gpu, n, 0.0, c_gpu, n)
    call c_gpu%read(c, ticket)                     ! returns at once, runs after the gemm

    ! The CPU is free meanwhile: the reference product, one column at a time.
    a64 = real(a, real64)
    done = .false.
    columns_while_busy = 0
    do j = 1, n
        reference(:, j) = matmul(a64, real(b(:, j), real64))
        if (.not. done) then
            done = ex%poll(ticket)                 ! never blocks
            if (.not. done) columns_while_busy = j
        end if
    end do
    if (.not. done) call ex%wait(ticket)           ! c has landed

    difference = norm2(real(c, real64) - reference) / norm2(reference)
    print '(a, a)', 'device: ', ex%device_name()
    print '(a, i0, a, i0, a, i0, a)', 'sgemm ', n, ' x ', n, ': the CPU computed ', columns_while_busy, &
        ' reference columns while the GPU worked'
    print '(a, es9.2)', '||C - A B||_F / ||A B||_F = ', difference
    call check_validation(ex)
    call ex%destroy()
    ! Each element is a length-n dot product in real32: its error is at most
    ! about n u times the sum of |a| |b|, so n * epsilon bounds the relative norm.
    if (difference > n * epsilon(1.0_real32)) error stop 'builtin_gemm: wrong result'

contains

    !> Under the test command (GPUASYNC_VALIDATION=1) the Khronos validation
    !> layer must be on and silent.
    subroutine check_validation(ex)
        type(gpuasync_executor), intent(in) :: ex
        character(len=8) :: setting
        logical :: enabled
        integer(int64) :: messages

        call get_environment_variable('GPUASYNC_VALIDATION', setting)
        if (setting /= '1') return
        call ex%validation(enabled, messages)
        if (.not. enabled) error stop 'validation was asked for but is not on'
        if (messages /= 0) error stop 'the validation layer reported messages'
    end subroutine check_validation
end program builtin_gemm
