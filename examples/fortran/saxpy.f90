!> The smallest complete gpuasync program: y = a*x + y on the GPU, checked.
!> Usage: saxpy [path/to/saxpy.spv]   (default spirv/saxpy.spv)
program saxpy
    use gpuasync
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, real64, int64
    implicit none

    !> The kernel's push-constant block: layout(push_constant) { float a; uint n; }
    type, bind(c) :: saxpy_push
        real(c_float) :: a
        integer(c_int32_t) :: n
    end type saxpy_push

    integer :: n, i
    real(real32), allocatable :: x(:), y(:)
    real(real32), allocatable, asynchronous :: result(:)
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: x_gpu, y_gpu
    type(gpuasync_kernel) :: kernel
    type(saxpy_push) :: push
    integer(int64) :: ticket
    character(len=4096) :: spv
    real(real64) :: want, worst

    n = 100000
    spv = 'spirv/saxpy.spv'
    if (command_argument_count() >= 1) call get_command_argument(1, spv)

    allocate (x(n), y(n), result(n))
    call random_number(x)
    call random_number(y)
    x = x + 0.5
    y = y - 1.5

    call ex%create()                              ! best device; lavapipe if no GPU
    call x_gpu%create(ex, x)                      ! sized from x and filled with it
    call y_gpu%create(ex, y)
    call kernel%create(ex, trim(spv))
    push = saxpy_push(2.0, n)
    call kernel%dispatch([x_gpu, y_gpu], groups=[(n + 63) / 64], push=push, push_bytes=c_sizeof(push))
    call y_gpu%read(result, ticket)               ! returns at once
    call ex%wait(ticket)                          ! result has landed

    worst = 0
    do i = 1, n
        want = 2.0_real64 * x(i) + y(i)
        worst = max(worst, abs(result(i) - want) / (2.0_real64 * abs(x(i)) + abs(y(i))))
    end do
    print '(a, a)', 'device: ', ex%device_name()
    print '(a, i0, a, es9.2)', 'saxpy of ', n, ' elements, worst relative error ', worst
    call check_validation(ex)
    call ex%destroy()
    if (worst > 4 * epsilon(1.0_real32)) error stop 'saxpy: wrong result'

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
end program saxpy
