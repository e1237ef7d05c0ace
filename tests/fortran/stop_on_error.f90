!> Without `stat`, a failing gpuasync call stops the program with its message
!> (as `allocate` does). Run by ctest once per case, expecting failure and the
!> message: stop_on_error SPIRV_DIR CASE
program stop_on_error
    use gpuasync
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, int64
    implicit none
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: b, copy
    type(gpuasync_kernel) :: kernel
    real(real32) :: x(16)
    real(real32), allocatable, asynchronous :: big(:)
    integer(int64) :: ticket
    character(len=4096) :: spirv_dir
    character(len=32) :: case

    call get_command_argument(1, spirv_dir)
    call get_command_argument(2, case)
    x = 1.5
    allocate (big(32))
    call ex%create()
    call b%create(ex, x)
    select case (case)
    case ('uncreated')
        call copy%write(x)
    case ('destroyed')
        copy = b
        call b%destroy()
        call copy%read(big, ticket)
    case ('size')
        call b%read(big, ticket)
    case ('noncontiguous')
        call b%write(x(1:16:2))
    case ('missing_spv')
        call kernel%create(ex, trim(spirv_dir) // '/no_such_kernel.spv')
    case ('mismatch')
        call kernel%create(ex, trim(spirv_dir) // '/saxpy.spv')
        call kernel%dispatch([b], groups=[1], push=x, push_bytes=c_sizeof(x))
    case default
        error stop 'unknown case'
    end select
    print '(a)', 'stop_on_error: the bad call returned; it should have stopped the program'
end program stop_on_error
