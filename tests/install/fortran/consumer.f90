!> Install-tree consumer: saxpy through the installed Fortran module, every
!> element checked; validation must be on and quiet when asked for.
program consumer
    use gpuasync
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, real64, int64
    implicit none

    type, bind(c) :: saxpy_push
        real(c_float) :: a
        integer(c_int32_t) :: n
    end type saxpy_push

    integer :: n, bad, i
    real(real32), allocatable :: x(:), y(:)
    real(real32), allocatable, asynchronous :: result(:)
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: x_gpu, y_gpu
    type(gpuasync_kernel) :: kernel
    type(saxpy_push) :: push
    integer(int64) :: ticket, messages
    character(len=4096) :: spv
    character(len=8) :: setting
    logical :: enabled
    real(real64) :: want

    n = 4096
    call get_command_argument(1, spv)
    allocate (x(n), y(n), result(n))
    call random_number(x)
    call random_number(y)
    x = x + 0.5
    y = -1 - y
    call ex%create()
    call x_gpu%create(ex, x)
    call y_gpu%create(ex, y)
    call kernel%create(ex, trim(spv))
    push = saxpy_push(3.0, n)
    call kernel%dispatch([x_gpu, y_gpu], groups=[n / 64], push=push, push_bytes=c_sizeof(push))
    call y_gpu%read(result, ticket)
    call ex%wait(ticket)
    bad = 0
    do i = 1, n
        want = 3.0_real64 * x(i) + y(i)
        if (abs(result(i) - want) > 4 * epsilon(1.0_real32) * (3 * abs(x(i)) + abs(y(i)))) bad = bad + 1
    end do
    call get_environment_variable('GPUASYNC_VALIDATION', setting)
    if (setting == '1') then
        call ex%validation(enabled, messages)
        if (.not. enabled .or. messages /= 0) error stop 'consumer: validation not on, or not quiet'
    end if
    call ex%destroy()
    print '(a, i0, a, i0, a)', 'consumer (Fortran): saxpy of ', n, ' elements, ', bad, ' wrong'
    if (bad /= 0) error stop 1
end program consumer
